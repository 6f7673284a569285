// The HTTP API as the console uses it: HTTP Basic credentials kept in sessionStorage, JSON replies, the API's
// {"error","message"} bodies as ApiError, and Server-Sent Events read over fetch (EventSource cannot send credentials).

const KEY = 'eventflowdb.credentials';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

export const session = {
  get() {
    const text = sessionStorage.getItem(KEY);
    return text ? JSON.parse(text) : null;
  },
  set(user, password) { sessionStorage.setItem(KEY, JSON.stringify({ user, password })); },
  clear() { sessionStorage.removeItem(KEY); },
};

function basic(user, password) {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return 'Basic ' + btoa(binary);
}

function headers(credentials = session.get()) {
  // X-Requested-With: the server then leaves out WWW-Authenticate, so the browser shows no dialog of its own.
  const h = { 'X-Requested-With': 'EventflowDB-console' };
  if (credentials) h.Authorization = basic(credentials.user, credentials.password);
  return h;
}

async function failure(response) {
  let code = '', message = '';
  try {
    const body = await response.json();
    code = body.error; message = body.message;
  } catch { /* not the API's error body */ }
  return new ApiError(response.status, code, message);
}

export async function request(path, { method = 'GET', body, credentials, signal } = {}) {
  const init = { method, headers: headers(credentials), signal, cache: 'no-store' };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  const response = await fetch(path, init);
  if (!response.ok) throw await failure(response);
  return response;
}

export async function json(path, options) {
  const response = await request(path, options);
  return { body: await response.json(), next: nextLink(response) };
}

export async function text(path, options) {
  return (await request(path, options)).text();
}

function nextLink(response) {
  const link = response.headers.get('Link');
  const match = link && /<([^>]+)>;\s*rel="next"/.exec(link);
  return match ? match[1] : null;
}

/**
 * Follows /subscribe?channel=&from= and calls onEvent(event) for each event. Returns a function that stops it.
 * onState('live' | 'closed' | Error) reports the connection; a dropped connection resumes after the last id.
 */
export function follow(channel, from, onEvent, onState) {
  const controller = new AbortController();
  let last = from;
  let stopped = false;

  async function run() {
    while (!stopped) {
      try {
        const url = `/subscribe?channel=${encodeURIComponent(channel)}&from=${encodeURIComponent(last)}`;
        const response = await request(url, { signal: controller.signal });
        onState('live');
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let id = null;
            const data = [];
            for (const line of block.split('\n')) {
              if (line.startsWith('id:')) id = line.slice(3).trim();
              else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
            }
            if (data.length > 0) {
              if (id) last = id;
              onEvent(JSON.parse(data.join('\n')));
            }
          }
        }
        if (!stopped) onState('closed');
      } catch (e) {
        if (stopped) return;
        onState(e);
        if (e instanceof ApiError && e.status < 500) return;
      }
      if (!stopped) await new Promise(resolve => setTimeout(resolve, 2000));
    }
  }

  run();
  return () => { stopped = true; controller.abort(); };
}
