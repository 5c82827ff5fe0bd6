// The start page: a key (kept in session storage, never in the URL), a
// branch, and the calendar.

import './booking-calendar.js';
import { Api } from './api.js';

const STORE = 'booking.apiKey';
const $ = (id) => document.getElementById(id);

async function open(key) {
  const status = $('status');
  status.textContent = '';
  let branches;
  try {
    branches = await new Api('', key).all('/v1/branches');
  } catch (e) {
    status.textContent = e.status === 401 ? 'That key was refused.' : e.message;
    sessionStorage.removeItem(STORE);
    $('forget').hidden = true;
    return;
  }
  sessionStorage.setItem(STORE, key);
  $('key').value = '';
  $('forget').hidden = false;
  const select = $('branch');
  select.replaceChildren(...branches.map((b) => new Option(`${b.name} (${b.time_zone})`, b.id)));
  $('branch-picker').hidden = branches.length < 2;
  if (!branches.length) {
    status.textContent = 'This tenant has no branch yet: create one through the API.';
    return;
  }
  const remembered = wanted.get('branch') || sessionStorage.getItem('booking.branch');
  if (branches.some((b) => b.id === remembered)) select.value = remembered;
  show(key, select.value);
  select.onchange = () => { sessionStorage.setItem('booking.branch', select.value); show(key, select.value); };
}

// What to show may come in the fragment (never sent to the server):
// #branch=…&date=2031-03-10&view=day. The key never does.
const wanted = new URLSearchParams(location.hash.slice(1));

function show(key, branch) {
  let calendar = document.querySelector('booking-calendar');
  if (!calendar) {
    calendar = document.createElement('booking-calendar');
    calendar.setAttribute('view', wanted.get('view') || (window.innerWidth < 700 ? 'day' : 'week'));
    if (wanted.get('date')) calendar.setAttribute('date', wanted.get('date'));
    $('main').replaceChildren(calendar);
  }
  calendar.setAttribute('branch-id', branch);
  calendar.apiKey = key;
}

$('connect').addEventListener('submit', (e) => {
  e.preventDefault();
  open($('key').value.trim());
});
$('forget').addEventListener('click', () => {
  sessionStorage.removeItem(STORE);
  location.reload();
});
const saved = sessionStorage.getItem(STORE);
if (saved) open(saved);
