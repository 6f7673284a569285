// Small DOM helpers: elements are built with text nodes, never from HTML strings holding data.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') el.className = value;
    else if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else el.setAttribute(name, value === true ? '' : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export const svg = (tag, attrs = {}, ...children) => {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  append(el, children);
  return el;
};

/** JSON pretty-printed and coloured (keys, strings, numbers, literals). */
export function prettyJson(value) {
  const pre = h('pre', { class: 'json' });
  if (value === undefined) {
    pre.append(h('span', { class: 'muted' }, '(none)'));
    return pre;
  }
  const text = JSON.stringify(value, null, 2);
  const token = /("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;
  let at = 0;
  for (const m of text.matchAll(token)) {
    if (m.index > at) pre.append(text.slice(at, m.index));
    const cls = m[1] ? (m[2] ? 'k' : 's') : m[3] ? 'b' : 'n';
    pre.append(h('span', { class: cls }, m[1] ?? m[0]));
    if (m[2]) pre.append(m[2]);
    at = m.index + m[0].length;
  }
  pre.append(text.slice(at));
  return pre;
}

export function formatNumber(n) {
  return n === null || n === undefined || Number.isNaN(n) ? '–' : Number(n).toLocaleString('en-US');
}

export function formatTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'medium' });
}

export const streamHref = name => `#/streams/${encodeURIComponent(name)}`;
export const eventHref = id => `#/events/${encodeURIComponent(id)}`;
