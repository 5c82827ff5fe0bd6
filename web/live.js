// The tenant's live events over /v1/stream: the key as the `bearer.<key>`
// subprotocol beside `booking.v1` (browsers cannot set headers, and keys
// never go in URLs), replay from `since`, reconnects with backoff that
// resume after the last event seen, and the connection state.

const PROTOCOL = 'booking.v1';

export class LiveFeed {
  /**
   * `onEvent(event)` gets each event once, in order; `onState(state)` gets
   * 'live', 'reconnecting' or 'offline' (the key was refused or revoked:
   * no more retries); `onResync(seq)` is told when the feed was too far
   * behind to replay: reload what is shown (it goes on from `seq`).
   */
  constructor({ base, key, branchId, onEvent, onState, onResync = () => {} }) {
    const origin = base || window.location.origin;
    this.url = origin.replace(/^http/, 'ws').replace(/\/+$/, '') + '/v1/stream';
    this.key = key;
    this.branchId = branchId;
    this.onEvent = onEvent;
    this.onState = onState;
    this.onResync = onResync;
    this.lastSeq = 0;
    this.attempt = 0;
    this.socket = null;
    this.timer = null;
    this.stopped = true;
    this.goneOffline = () => this.drop();
    this.backOnline = () => { if (!this.stopped && !this.socket) this.connect(); };
  }

  /** Follows the log from event `since` (what the shown state was read at). */
  start(since) {
    this.lastSeq = since;
    this.stopped = false;
    window.addEventListener('offline', this.goneOffline);
    window.addEventListener('online', this.backOnline);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('offline', this.goneOffline);
    window.removeEventListener('online', this.backOnline);
    clearTimeout(this.timer);
    if (this.socket) this.socket.close(1000, 'bye');
    this.socket = null;
  }

  /** Cuts the connection now and reconnects with backoff. */
  drop() {
    if (this.socket) {
      const s = this.socket;
      this.socket = null;
      s.onclose = null;
      s.close(4000, 'offline');
      this.retry();
    }
  }

  connect() {
    clearTimeout(this.timer);
    const query = new URLSearchParams({ since: String(this.lastSeq) });
    if (this.branchId) query.set('branch_id', this.branchId);
    let socket;
    try {
      socket = new WebSocket(`${this.url}?${query}`, [PROTOCOL, `bearer.${this.key}`]);
    } catch {
      this.retry();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.onState('live');
    };
    socket.onmessage = (message) => {
      let event;
      try { event = JSON.parse(message.data); } catch { return; }
      if (event.type === 'resync') {
        // With `seq`: too far behind to replay; what is shown is reloaded
        // and the feed goes on from `seq`. Without: the server closes and
        // we resume from lastSeq.
        if (typeof event.seq === 'number') {
          this.lastSeq = event.seq;
          this.onResync(event.seq);
        }
        return;
      }
      if (typeof event.seq !== 'number' || event.seq <= this.lastSeq) return;
      this.lastSeq = event.seq;
      this.onEvent(event);
    };
    socket.onclose = (close) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.stopped) return;
      // 1008: the key was revoked or expired; 4xx at the upgrade shows as 1006
      // and is retried (a node restarting looks the same).
      if (close.code === 1008) {
        this.stopped = true;
        this.onState('offline');
        return;
      }
      this.retry();
    };
  }

  retry() {
    if (this.stopped) return;
    this.onState('reconnecting');
    const delay = Math.min(10000, 250 * 2 ** this.attempt) * (0.5 + Math.random() / 2);
    this.attempt = Math.min(this.attempt + 1, 6);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (!this.stopped && !this.socket) this.connect();
    }, navigator.onLine === false ? Math.max(delay, 1000) : delay);
  }
}
