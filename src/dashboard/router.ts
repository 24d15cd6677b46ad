/** Hash routing: `#/runs?status=…`, `#/runs/<id>?step=<n>`, `#/inbox`, `#/stats`; the page is served at one URL, so any link works offline and after a reload. */

import { signal } from '@preact/signals';

/** Where the dashboard is. */
export interface Route {
  page: 'runs' | 'run' | 'inbox' | 'stats';
  /** The run id on the run page. */
  id?: string;
  query: URLSearchParams;
}

/**
 * Reads a location hash.
 *
 * @example
 * ```ts
 * parseHash('#/runs/run_1?step=3'); // { page: 'run', id: 'run_1', query: step=3 }
 * ```
 */
export function parseHash(hash: string): Route {
  const text = hash.replace(/^#\/?/, '');
  const question = text.indexOf('?');
  const path = question === -1 ? text : text.slice(0, question);
  const query = new URLSearchParams(question === -1 ? '' : text.slice(question + 1));
  const [first, second] = path.split('/').map((part) => decodeURIComponent(part));
  if (first === 'runs' && second !== undefined && second !== '') return { page: 'run', id: second, query };
  if (first === 'inbox') return { page: 'inbox', query };
  if (first === 'stats') return { page: 'stats', query };
  return { page: 'runs', query };
}

/** The current route; follows `hashchange`. */
export const route = signal<Route>(parseHash(location.hash));
addEventListener('hashchange', () => {
  route.value = parseHash(location.hash);
});

/**
 * A hash link: `href('runs', { status: 'failed' })` is `#/runs?status=failed` (empty values left out).
 *
 * @example
 * ```ts
 * <a href={href(`runs/${run.id}`)}>…</a>
 * ```
 */
export function href(path: string, query: Record<string, string | undefined> = {}): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query))
    if (value !== undefined && value !== '') search.set(name, value);
  const text = search.toString();
  return `#/${path}${text === '' ? '' : `?${text}`}`;
}

/**
 * Changes the route without adding a history entry (filters, the selected step).
 *
 * @example
 * ```ts
 * replaceRoute(href('runs', { status: 'failed' }));
 * ```
 */
export function replaceRoute(hash: string): void {
  history.replaceState(null, '', hash);
  route.value = parseHash(hash);
}
