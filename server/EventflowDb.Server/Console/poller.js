// Polls /stats and /metrics every few seconds while signed in and keeps the last minutes as samples: events/s from
// the exact event count, commit latency as the mean of the commits of each interval (the commit-duration histogram's
// sum and count on /metrics).
import { json, text } from './api.js';

const INTERVAL_MS = 3000;
const KEEP_MS = 10 * 60 * 1000;

function metric(body, name) {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(body);
  return match ? Number(match[1]) : null;
}

export const poller = {
  samples: [],
  stats: null,
  error: null,
  listeners: new Set(),
  timer: null,

  start() {
    if (this.timer) return;
    this.tick();
    this.timer = setInterval(() => this.tick(), INTERVAL_MS);
  },

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.samples = [];
    this.stats = null;
  },

  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  },

  async tick() {
    const t = Date.now();
    try {
      const [{ body: stats }, metrics] = await Promise.all([json('/stats'), text('/metrics').catch(() => '')]);
      this.stats = stats;
      this.error = null;
      const sample = {
        t,
        events: stats.event_count,
        commitSum: metric(metrics, 'eventflowdb_commit_duration_seconds_sum'),
        commitCount: metric(metrics, 'eventflowdb_commit_duration_seconds_count'),
      };
      const previous = this.samples[this.samples.length - 1];
      if (previous) {
        const seconds = (t - previous.t) / 1000;
        sample.rate = Math.max(0, (sample.events - previous.events) / seconds);
        const commits = sample.commitCount - previous.commitCount;
        sample.latencyMs = sample.commitCount !== null && commits > 0 ? ((sample.commitSum - previous.commitSum) / commits) * 1000 : null;
      }
      this.samples.push(sample);
      this.samples = this.samples.filter(s => s.t >= t - KEEP_MS);
    } catch (e) {
      this.error = e;
    }
    for (const listener of this.listeners) listener();
  },
};
