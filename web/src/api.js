// The page's one way to its data: `termtape` commands with JSON output.
// Under `termtape serve` they are HTTP endpoints answered in-process; in
// Cockpit the same commands are spawned through the bridge, as the logged-in
// user (so who may review is who may read the journal or the files). The
// page never reads tlog's JSON itself.

/** The API of the host the page runs in. */
export function connect() {
  return window.cockpit ? new CockpitApi(window.cockpit) : new ServeApi();
}

/** Splits a stream of text into JSON objects, one per line. */
export class Lines {
  constructor(onObject) {
    this.rest = '';
    this.onObject = onObject;
  }

  push(text) {
    const parts = (this.rest + text).split('\n');
    this.rest = parts.pop();
    for (const line of parts) if (line.trim() !== '') this.onObject(JSON.parse(line));
  }

  end() {
    if (this.rest.trim() !== '') this.onObject(JSON.parse(this.rest));
    this.rest = '';
  }
}

/** Parses JSON lines at once. */
function parseLines(text) {
  const objects = [];
  const lines = new Lines((o) => objects.push(o));
  lines.push(text);
  lines.end();
  return objects;
}

/**
 * A running stream of objects: `cancel()` stops it; `done` settles when it
 * ends (rejected with the error that ended it, unless cancelled).
 */
class Stream {
  constructor() {
    this.cancelled = false;
    this.onCancel = () => {};
  }

  cancel() {
    if (this.cancelled) return;
    this.cancelled = true;
    this.onCancel();
  }
}

/** `termtape serve`: the token came by URL and lives on as a cookie. */
class ServeApi {
  constructor() {
    this.kind = 'serve';
    // The token was only needed for the first load (the server set its
    // cookie); keep it out of history and screenshots.
    const url = new URL(window.location.href);
    if (url.searchParams.has('token')) {
      url.searchParams.delete('token');
      window.history.replaceState(null, '', url.pathname + url.search + url.hash);
    }
  }

  async get(path) {
    const response = await fetch(path, { credentials: 'same-origin', cache: 'no-store' });
    if (!response.ok) throw new Error(await errorText(response));
    return response;
  }

  async json(path) {
    return (await this.get(path)).json();
  }

  async sources() {
    return (await this.json('api/sources')).sources;
  }

  /** Every source's recordings in one request (each has its `source`). */
  async allRecordings() {
    return this.json('api/recordings');
  }

  /** The `verify` object of `ls --json --verify` for one recording. */
  async verdict(source, rec) {
    const q = new URLSearchParams({ source: String(source), rec, verify: '1' });
    const [recording] = await this.json(`api/recordings?${q}`);
    return recording?.verify ?? null;
  }

  async search(text, { ignoreCase, input, source, rec }) {
    const q = new URLSearchParams({ q: text });
    if (ignoreCase) q.set('ignore_case', '1');
    if (input) q.set('input', '1');
    if (source !== undefined) q.set('source', String(source));
    if (rec !== undefined) q.set('rec', rec);
    const found = await this.json(`api/search?${q}`);
    const error = found.find((o) => o.error);
    if (error) throw new Error(error.error);
    return found;
  }

  events(source, rec, { at, to, follow }, onObject) {
    const q = new URLSearchParams({ source: String(source), rec, at: seconds(at) });
    if (to !== undefined && to !== null) q.set('to', seconds(to));
    if (follow) q.set('follow', '1');
    const stream = new Stream();
    const controller = new AbortController();
    stream.onCancel = () => controller.abort();
    stream.done = (async () => {
      const response = await fetch(`api/events?${q}`, {
        credentials: 'same-origin',
        cache: 'no-store',
        signal: controller.signal,
      });
      if (!response.ok) throw new Error(await errorText(response));
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      const lines = new Lines(onObject);
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        lines.push(value);
      }
      lines.end();
    })().catch((e) => {
      if (!stream.cancelled) throw e;
    });
    return stream;
  }

  async logs(source, rec) {
    const q = new URLSearchParams({ source: String(source), rec });
    return parseLines(await (await this.get(`api/logs?${q}`)).text());
  }

  /** `termtape commands --json`'s objects for one recording. */
  async commands(source, rec) {
    const q = new URLSearchParams({ source: String(source), rec });
    return parseLines(await (await this.get(`api/commands?${q}`)).text());
  }

  /** `termtape files --json`'s objects for one recording. */
  async files(source, rec) {
    const q = new URLSearchParams({ source: String(source), rec });
    return parseLines(await (await this.get(`api/files?${q}`)).text());
  }

  async original(source, rec) {
    const q = new URLSearchParams({ source: String(source), rec });
    return (await this.get(`api/original?${q}`)).blob();
  }
}

async function errorText(response) {
  const text = await response.text();
  try {
    return JSON.parse(text).error ?? `${response.status} ${text}`;
  } catch {
    return `${response.status} ${text.slice(0, 200)}`;
  }
}

/** Seconds with ms precision, as the CLI and the API take a moment. */
function seconds(ms) {
  return (Math.max(0, ms) / 1000).toFixed(3);
}

const SOURCES_KEY = 'termtape.sources';

/** Whether a source name is the journal's (`journal`, `journal:DIR`), not
 * a file's, as the CLI reads it (`journal:` alone is a file's name). */
export function isJournal(name) {
  return name === 'journal' || (name.startsWith('journal:') && name.length > 'journal:'.length);
}

/** Cockpit: the same commands, spawned through cockpit-bridge. */
class CockpitApi {
  constructor(cockpit) {
    this.kind = 'cockpit';
    this.cockpit = cockpit;
  }

  /** Runs `termtape ARGS`; exit status 1 means nothing found. */
  async run(args, options = {}) {
    try {
      // superuser "try": a reviewer who turned on Cockpit's administrative
      // access reads what root may read; otherwise their own permissions.
      return await this.cockpit.spawn(['termtape', ...args], { err: 'message', superuser: 'try', ...options });
    } catch (e) {
      if (e.exit_status === 1) return options.binary ? new Uint8Array() : '';
      throw new Error(e.message || e.problem || String(e));
    }
  }

  async sources() {
    return this.sourceNames().map((name, source) => ({ source, name }));
  }

  sourceNames() {
    try {
      const names = JSON.parse(window.localStorage.getItem(SOURCES_KEY) ?? '[]');
      if (Array.isArray(names) && names.length > 0) return names.map(String);
    } catch {
      // A damaged setting: start again from the journal.
    }
    return ['journal'];
  }

  /** Sets the sources the page reads (`journal`, `journal:DIR`, files). */
  setSources(names) {
    window.localStorage.setItem(SOURCES_KEY, JSON.stringify(names));
  }

  name(source) {
    return this.sourceNames()[source];
  }

  /** Every source's recordings, the sources read at once; a source that
   * fails is reported to `onError` and lists nothing. */
  async allRecordings(onError) {
    // The files' verdicts are read again with the list.
    this.fileVerdicts = new Map();
    const lists = await Promise.all(
      this.sourceNames().map(async (name, source) => {
        try {
          const list = parseLines(await this.run(['ls', '--json', '--lax', '--', name]));
          return list.map((r) => ({ ...r, source }));
        } catch (e) {
          onError(name, e);
          return [];
        }
      }),
    );
    return lists.flat();
  }

  /**
   * The `verify` object of `ls --json --verify` for one recording. In the
   * journal `--rec` reads only that recording; a file is read whole
   * whatever `--rec` says, and a central file holds many recordings, so a
   * file's verdicts are all taken in one read, kept until the list is read
   * again.
   */
  async verdict(source, rec) {
    const name = this.name(source);
    if (isJournal(name)) {
      const [recording] = parseLines(await this.run(['ls', '--json', '--lax', '--verify', `--rec=${rec}`, '--', name]));
      return recording?.verify ?? null;
    }
    this.fileVerdicts ??= new Map();
    let verdicts = this.fileVerdicts.get(name);
    if (!verdicts) {
      verdicts = this.run(['ls', '--json', '--lax', '--verify', '--', name]).then(
        (text) => new Map(parseLines(text).map((r) => [r.rec, r.verify ?? null])),
      );
      this.fileVerdicts.set(name, verdicts);
      // A failed read is not kept: the next row asks again.
      verdicts.catch(() => this.fileVerdicts.get(name) === verdicts && this.fileVerdicts.delete(name));
    }
    return (await verdicts).get(rec) ?? null;
  }

  async search(text, { ignoreCase, input, source, rec }) {
    const names = source === undefined ? this.sourceNames() : [this.name(source)];
    const found = [];
    for (const [index, name] of names.entries()) {
      const args = ['search', '--json', '--lax'];
      if (ignoreCase) args.push('--ignore-case');
      if (input) args.push('--input');
      if (rec !== undefined) args.push(`--rec=${rec}`);
      args.push('--', text, name);
      for (const hit of parseLines(await this.run(args))) {
        hit.source = source ?? index;
        found.push(hit);
      }
    }
    return found;
  }

  events(source, rec, { at, to, follow }, onObject) {
    const args = ['termtape', 'events', `--rec=${rec}`, `--at=${seconds(at)}`];
    if (to !== undefined && to !== null) args.push(`--to=${seconds(to)}`);
    if (follow) args.push('--follow');
    args.push('--', this.name(source));
    const stream = new Stream();
    const process = this.cockpit.spawn(args, { err: 'message', superuser: 'try' });
    stream.onCancel = () => process.close('terminated');
    const lines = new Lines(onObject);
    process.stream((text) => {
      if (!stream.cancelled) lines.push(text);
    });
    stream.done = process.then(
      () => lines.end(),
      (e) => {
        if (stream.cancelled) return;
        throw new Error(e.message || e.problem || String(e));
      },
    );
    return stream;
  }

  async logs(source, rec) {
    return parseLines(await this.run(['logs', `--rec=${rec}`, '--', this.name(source)]));
  }

  async commands(source, rec) {
    return parseLines(await this.run(['commands', '--json', `--rec=${rec}`, '--', this.name(source)]));
  }

  async files(source, rec) {
    return parseLines(await this.run(['files', '--json', `--rec=${rec}`, '--', this.name(source)]));
  }

  async original(source, rec) {
    const bytes = await this.run(['cat', '--original', `--rec=${rec}`, '--', this.name(source)], {
      binary: true,
    });
    return new Blob([bytes], { type: 'application/octet-stream' });
  }
}
