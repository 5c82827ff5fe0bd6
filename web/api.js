// The booking API over fetch: the key in the Authorization header (never
// in a URL), JSON in and out, and every refusal turned into an ApiError
// carrying the server's problem+json body.

/** A refused or failed request: `status`, the problem `type`, its `detail`. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.type = (problem.type || '').replace('/problems/', '');
  }
}

export class Api {
  /** `base`: the server's origin ('' for this page's); `key`: the API key. */
  constructor(base, key) {
    this.base = (base || '').replace(/\/+$/, '');
    this.key = key;
  }

  async request(method, path, { body, query, headers = {}, keepalive = false } = {}) {
    let url = `${this.base}${path}`;
    if (query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) {
        for (const one of Array.isArray(v) ? v : [v]) if (one != null) q.append(k, one);
      }
      url += `?${q}`;
    }
    const init = { method, keepalive, headers: { Authorization: `Bearer ${this.key}`, ...headers } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (e) {
      throw new ApiError(0, { type: '/problems/offline', detail: `cannot reach the server (${e.message})` });
    }
    const text = await response.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = null; }
    if (!response.ok) {
      throw new ApiError(response.status, json || { detail: `HTTP ${response.status}` });
    }
    return json;
  }

  get(path, query) { return this.request('GET', path, { query }); }
  post(path, body, headers) { return this.request('POST', path, { body, headers }); }
  patch(path, body, headers) { return this.request('PATCH', path, { body, headers }); }
  put(path, body) { return this.request('PUT', path, { body }); }
  delete(path) { return this.request('DELETE', path); }

  /** Every item of a paged list (`{items, next_cursor}`). */
  async all(path, query) {
    const items = [];
    let cursor;
    for (;;) {
      const page = await this.get(path, { ...query, cursor });
      items.push(...page.items);
      if (!page.next_cursor) return items;
      cursor = page.next_cursor;
    }
  }
}

/** A fresh Idempotency-Key, so a retried write is applied once. */
export function idempotencyKey() {
  return crypto.randomUUID ? crypto.randomUUID()
    : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}
