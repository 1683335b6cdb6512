// The recordings view: every recording of the sources, filtered, sorted and
// paged; a timeline of the sessions active at each moment, one lane per
// user@host; and search across recordings.

import { h, s, replace, showVerdict } from './dom.js';
import * as fmt from './format.js';

const PAGE = 100;
/** Lanes drawn in the timeline; the rest are counted. */
const LANES = 40;
const LANE_HEIGHT = 16;
const LABEL_WIDTH = 170;
const TIMELINE_WIDTH = 1000;

const COLUMNS = [
  ['user', 'User'],
  ['host', 'Host'],
  ['start', 'Start'],
  ['duration', 'Duration'],
  ['size', 'Output'],
  [null, 'Terminal'],
  [null, 'Command'],
  [null, 'Verified'],
  [null, ''],
];

export class RecordingsView {
  constructor(api, { open }) {
    this.api = api;
    this.open = open;
    this.recordings = [];
    this.sources = [];
    this.sort = { key: 'start', descending: true };
    this.page = 0;
    this.textHits = null;
    /** Verdicts known, by `source:rec`: a verdict object, or `{ error }`. */
    this.verdicts = new Map();
    /** The verdict cells of the rows shown, by `source:rec`. */
    this.verdictCells = new Map();
    /** Verdicts being asked for now. */
    this.checking = new Set();
    this.build();
  }

  build() {
    const filter = (name, placeholder) =>
      h('input', {
        'data-tt': `filter-${name}`,
        type: 'search',
        placeholder,
        onchange: () => this.refilter(),
        onkeydown: (e) => e.key === 'Enter' && this.refilter(),
      });
    this.filters = {
      user: filter('user', 'User'),
      host: filter('host', 'Host'),
      since: filter('since', 'From YYYY-MM-DD HH:MM'),
      until: filter('until', 'To YYYY-MM-DD HH:MM'),
      text: filter('text', 'Text shown on screen'),
    };
    this.status = h('p', { 'data-tt': 'list-status', class: 'tt-status', role: 'status' }, 'Loading…');
    this.timeline = h('div', { class: 'tt-timeline-wrap' });
    this.tbody = h('tbody');
    this.heads = COLUMNS.map(([key, label]) =>
      h(
        'th',
        key ? { 'data-sort': key, class: 'tt-sortable', onclick: () => this.sortBy(key) } : {},
        label,
      ),
    );
    this.pager = h('span', { class: 'tt-dim' });
    this.searchInput = h('input', {
      'data-tt': 'search',
      type: 'search',
      placeholder: 'Search screens of all recordings',
      onkeydown: (e) => e.key === 'Enter' && this.runSearch(),
    });
    this.searchInputs = h('input', { 'data-tt': 'search-input', type: 'checkbox' });
    this.hits = h('ol', { 'data-tt': 'hits', class: 'tt-hits' });
    this.sourceBar = h('div', { class: 'tt-sources' });
    this.root = h(
      'section',
      { class: 'tt-list-view' },
      this.sourceBar,
      h(
        'div',
        { class: 'tt-search' },
        this.searchInput,
        h('label', {}, this.searchInputs, ' typed input'),
        h('button', { type: 'button', 'data-tt': 'search-go', onclick: () => this.runSearch() }, 'Search'),
      ),
      this.hits,
      h('div', { class: 'tt-filters' }, Object.values(this.filters)),
      this.status,
      this.timeline,
      h(
        'table',
        { 'data-tt': 'list', class: 'tt-list' },
        h('thead', {}, h('tr', {}, this.heads)),
        this.tbody,
      ),
      h(
        'div',
        { class: 'tt-pager' },
        h('button', { type: 'button', 'data-tt': 'prev-page', onclick: () => this.turn(-1) }, '← Newer'),
        this.pager,
        h('button', { type: 'button', 'data-tt': 'next-page', onclick: () => this.turn(1) }, 'Older →'),
      ),
    );
  }

  /** Reads the list of every source. */
  async load() {
    // A later load (the sources changed) wins over one still running.
    const generation = (this.generation = (this.generation ?? 0) + 1);
    this.status.textContent = 'Loading…';
    try {
      // Both at once: the list is what the reviewer waits for.
      const [sources, recordings] = await Promise.all([
        this.api.sources(),
        this.api.allRecordings((name, e) => this.warn(`${name}: ${e.message}`)),
      ]);
      if (generation !== this.generation) return;
      this.sources = sources;
      this.showSources();
      this.recordings = recordings;
      this.verdicts = new Map();
      this.checking = new Set();
      this.refilter();
    } catch (e) {
      if (generation !== this.generation) return;
      this.status.textContent = `Could not list recordings: ${e.message}`;
    }
  }

  warn(text) {
    this.sourceBar.append(h('p', { class: 'tt-warning' }, text));
  }

  showSources() {
    const names = this.sources.map((source) => source.name);
    if (this.api.kind === 'cockpit') {
      const input = h('input', {
        'data-tt': 'sources',
        type: 'text',
        value: names.join(' '),
        title: 'journal, journal:DIR or files, separated by spaces',
      });
      const apply = () => {
        this.api.setSources(input.value.split(/\s+/).filter(Boolean));
        this.load();
      };
      input.addEventListener('keydown', (e) => e.key === 'Enter' && apply());
      replace(
        this.sourceBar,
        h('label', {}, 'Sources: ', input),
        h('button', { type: 'button', onclick: apply }, 'Read'),
      );
    } else {
      replace(this.sourceBar, h('span', { class: 'tt-dim' }, 'Sources: ', names.join(', ')));
    }
  }

  /**
   * Applies the filters (the text filter through a search). A search that
   * ends after the filters changed again is dropped: its finds are of a
   * text no longer asked for.
   */
  async refilter() {
    const generation = (this.filtering = (this.filtering ?? 0) + 1);
    const text = this.filters.text.value.trim();
    if (text) {
      this.status.textContent = `Searching for ${text}…`;
      let found;
      try {
        found = await this.api.search(text, { ignoreCase: text === text.toLowerCase() });
      } catch (e) {
        if (generation === this.filtering) this.status.textContent = `Search failed: ${e.message}`;
        return;
      }
      if (generation !== this.filtering) return;
      this.textHits = new Set(found.map((f) => `${f.source}:${f.rec}`));
    } else {
      this.textHits = null;
    }
    this.page = 0;
    this.render();
  }

  matching() {
    const user = this.filters.user.value.trim().toLowerCase();
    const host = this.filters.host.value.trim().toLowerCase();
    const since = fmt.parseClock(this.filters.since.value);
    const until = fmt.parseClock(this.filters.until.value);
    return this.recordings.filter((r) => {
      if (user && !(r.user ?? '').toLowerCase().includes(user)) return false;
      if (host && !(r.host ?? '').toLowerCase().includes(host)) return false;
      const end = r.live ? Date.now() : r.end ?? r.start;
      if (since !== null && end < since) return false;
      if (until !== null && r.start > until) return false;
      if (this.textHits && !this.textHits.has(`${r.source}:${r.rec}`)) return false;
      return true;
    });
  }

  sortBy(key) {
    this.sort = { key, descending: this.sort.key === key ? !this.sort.descending : key === 'start' };
    this.render();
  }

  sorted(list) {
    const value = {
      user: (r) => r.user ?? '',
      host: (r) => r.host ?? '',
      start: (r) => r.start ?? 0,
      duration: (r) => r.duration ?? 0,
      size: (r) => r.output_bytes ?? 0,
    }[this.sort.key];
    const sign = this.sort.descending ? -1 : 1;
    return [...list].sort((a, b) => {
      const x = value(a);
      const y = value(b);
      return sign * (x < y ? -1 : x > y ? 1 : 0);
    });
  }

  turn(step) {
    this.page += step;
    this.render();
  }

  render() {
    const list = this.sorted(this.matching());
    const pages = Math.max(1, Math.ceil(list.length / PAGE));
    this.page = Math.min(Math.max(this.page, 0), pages - 1);
    const shown = list.slice(this.page * PAGE, (this.page + 1) * PAGE);
    const live = list.filter((r) => r.live).length;
    this.status.textContent =
      `${list.length} recordings` +
      (list.length !== this.recordings.length ? ` of ${this.recordings.length}` : '') +
      (live ? `, ${live} live` : '');
    this.pager.textContent = `page ${this.page + 1} of ${pages}`;
    for (const th of this.heads) {
      th.classList.toggle('tt-sorted', th.dataset.sort === this.sort.key);
      th.classList.toggle('tt-descending', th.dataset.sort === this.sort.key && this.sort.descending);
    }
    this.verdictCells = new Map();
    replace(this.tbody, shown.map((r) => this.row(r)));
    this.verifyShown(shown);
    // The page's recordings: sorted by start, a page is a stretch of time.
    replace(this.timeline, timeline(shown, (r, at) => this.open(r, at)));
  }

  row(r) {
    return h(
      'tr',
      {
        'data-tt': 'recording',
        'data-source': r.source,
        'data-rec': r.rec,
        tabindex: 0,
        class: 'tt-row',
        onclick: () => this.open(r, 0),
        onkeydown: (e) => e.key === 'Enter' && this.open(r, 0),
      },
      h('td', { 'data-tt': 'user' }, r.user ?? '?'),
      h('td', { 'data-tt': 'host' }, r.host ?? '?'),
      h('td', { 'data-tt': 'start' }, fmt.clock(r.start)),
      h('td', { 'data-tt': 'duration' }, fmt.duration(r.duration ?? 0)),
      h('td', { 'data-tt': 'size' }, fmt.size(r.output_bytes)),
      h('td', { class: 'tt-dim' }, r.tty ?? r.pty ?? '', r.term ? ` ${r.term}` : ''),
      h('td', { class: 'tt-command', title: (r.command ?? []).join(' ') }, (r.command ?? []).join(' ')),
      this.verdictCell(r),
      h(
        'td',
        { 'data-tt': 'live' },
        r.live ? h('span', { class: 'tt-live' }, 'live') : '',
        r.gaps?.count ? h('span', { class: 'tt-warning', title: 'messages a rate limit dropped' }, ` ${r.gaps.count} gaps`) : '',
        r.unverified ? h('span', { class: 'tt-warning', title: r.unverified }, ' unverified') : '',
      ),
    );
  }

  /** The row's verdict: known, still to come, or not asked (live). */
  verdictCell(r) {
    const key = `${r.source}:${r.rec}`;
    const cell = h('td', { 'data-tt': 'row-verdict', class: 'tt-verdict' });
    if (r.live) {
      cell.textContent = 'recording';
      cell.title = 'Verified once the recording ends';
    } else if (this.verdicts.has(key)) {
      showVerdict(cell, this.verdicts.get(key));
    } else {
      cell.textContent = '…';
      cell.title = 'Checking the hash chain';
      this.verdictCells.set(key, cell);
    }
    return cell;
  }

  /**
   * Checks the hash chain of each finished recording shown, one at a time
   * (each is a full read of the recording); a later page or filter stops
   * the checks of the one before.
   */
  async verifyShown(shown) {
    const generation = (this.verifying = (this.verifying ?? 0) + 1);
    // Read again (the sources changed): what was asked before is dropped.
    const verdicts = this.verdicts;
    for (const r of shown) {
      const key = `${r.source}:${r.rec}`;
      // One still being checked fills its cell when done, wherever it is.
      if (r.live || this.verdicts.has(key) || this.checking.has(key)) continue;
      this.checking.add(key);
      let verdict;
      try {
        verdict = await this.api.verdict(r.source, r.rec);
      } catch (e) {
        verdict = { error: e.message };
      }
      this.checking.delete(key);
      if (verdicts !== this.verdicts) return;
      verdicts.set(key, verdict);
      const cell = this.verdictCells.get(key);
      if (cell) showVerdict(cell, verdict);
      if (generation !== this.verifying) return;
    }
  }

  /** Search across the recordings; a hit opens the player there. */
  async runSearch() {
    const text = this.searchInput.value;
    if (!text.trim()) return;
    window.location.hash = `#/search?q=${encodeURIComponent(text)}${this.searchInputs.checked ? '&input=1' : ''}`;
  }

  async search(text, input) {
    this.searchInput.value = text;
    this.searchInputs.checked = input;
    replace(this.hits, h('li', { class: 'tt-dim' }, `Searching for ${text}…`));
    let found;
    try {
      found = await this.api.search(text, { ignoreCase: text === text.toLowerCase(), input });
    } catch (e) {
      replace(this.hits, h('li', { class: 'tt-warning' }, `Search failed: ${e.message}`));
      return;
    }
    const byKey = new Map(this.recordings.map((r) => [`${r.source}:${r.rec}`, r]));
    replace(
      this.hits,
      found.length === 0 ? h('li', { class: 'tt-dim' }, `Not found: ${text}`) : null,
      found.slice(0, 1000).map((hit) =>
        h(
          'li',
          {
            'data-tt': 'hit',
            'data-source': hit.source,
            'data-rec': hit.rec,
            'data-at': hit.at,
            tabindex: 0,
            class: 'tt-hit',
            onclick: () => {
              const r = byKey.get(`${hit.source}:${hit.rec}`) ?? { source: hit.source, rec: hit.rec, user: hit.user, host: hit.host, start: hit.time - hit.at };
              this.open(r, hit.at, hit.line);
            },
          },
          h('span', { class: 'tt-dim' }, fmt.clock(hit.time), ' '),
          h('strong', {}, `${hit.user ?? '?'}@${hit.host ?? '?'}`),
          h('span', { class: 'tt-dim' }, ` ${hit.rec.slice(0, 12)}… +${fmt.position(hit.at)} `),
          h('code', {}, hit.line),
        ),
      ),
      found.length > 1000 ? h('li', { class: 'tt-dim' }, `${found.length - 1000} more finds not shown.`) : null,
    );
  }
}

/**
 * The sessions active at each moment: one lane per user@host, a bar per
 * recording; a click opens the recording at the moment under the pointer.
 */
function timeline(list, open) {
  if (list.length === 0) return h('p', { class: 'tt-dim' }, 'No recordings to show.');
  const now = Date.now();
  const end = (r) => (r.live ? now : r.end ?? r.start + (r.duration ?? 0));
  const from = Math.min(...list.map((r) => r.start));
  const to = Math.max(...list.map(end), from + 1000);
  const lanes = new Map();
  for (const r of list) {
    const key = `${r.user ?? '?'}@${r.host ?? '?'}`;
    if (!lanes.has(key)) lanes.set(key, []);
    lanes.get(key).push(r);
  }
  const keys = [...lanes.keys()].sort();
  const shown = keys.slice(0, LANES);
  const width = TIMELINE_WIDTH - LABEL_WIDTH;
  const x = (t) => LABEL_WIDTH + ((t - from) / (to - from)) * width;
  const height = shown.length * LANE_HEIGHT + 22;
  const svg = s('svg', {
    'data-tt': 'timeline',
    class: 'tt-timeline',
    viewBox: `0 0 ${TIMELINE_WIDTH} ${height}`,
    preserveAspectRatio: 'none',
    role: 'img',
    'aria-label': 'Sessions active at each moment',
  });
  shown.forEach((key, lane) => {
    const y = lane * LANE_HEIGHT;
    svg.append(s('text', { x: 4, y: y + 12, class: 'tt-lane-label' }, key.length > 26 ? `${key.slice(0, 25)}…` : key));
    for (const r of lanes.get(key)) {
      const bar = s(
        'rect',
        {
          'data-tt': 'bar',
          'data-source': r.source,
          'data-rec': r.rec,
          'data-start': r.start,
          'data-end': end(r),
          x: x(r.start),
          y: y + 2,
          width: Math.max(2, x(end(r)) - x(r.start)),
          height: LANE_HEIGHT - 4,
          class: r.live ? 'tt-bar tt-bar-live' : 'tt-bar',
        },
        s('title', {}, `${key} ${fmt.clock(r.start)} – ${r.live ? 'live' : fmt.clock(end(r))}`),
      );
      bar.addEventListener('click', (e) => {
        const box = svg.getBoundingClientRect();
        const t = from + ((e.clientX - box.left) / box.width * TIMELINE_WIDTH - LABEL_WIDTH) / width * (to - from);
        open(r, Math.min(Math.max(0, t - r.start), end(r) - r.start));
      });
      svg.append(bar);
    }
  });
  const axis = shown.length * LANE_HEIGHT + 16;
  svg.append(
    s('text', { x: LABEL_WIDTH, y: axis, class: 'tt-axis' }, fmt.clock(from)),
    s('text', { x: TIMELINE_WIDTH - 4, y: axis, class: 'tt-axis', 'text-anchor': 'end' }, fmt.clock(to)),
  );
  return h(
    'figure',
    { class: 'tt-timeline-figure' },
    svg,
    keys.length > LANES ? h('figcaption', { class: 'tt-dim' }, `${keys.length - LANES} more user@host lanes not drawn: filter to see them.`) : null,
  );
}
