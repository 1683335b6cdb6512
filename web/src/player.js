// The player: the screen at any moment, drawn by xterm.js from the keyframe
// at or before it plus the events after it (`termtape events`), then played
// on, timed, from a bounded queue that is refilled piece by piece. A seek
// never replays from the recording's start (unless the recording has no
// keyframes: then the server replays and says so).
//
// What the recording holds reaches the reviewer only through xterm.js's
// parser: nothing answers the recording (no input is taken, the terminal's
// replies go nowhere), its title is never applied, OSC 52 has no clipboard
// handler, and hyperlinks do nothing when clicked.

import { Terminal } from '@xterm/xterm';
import { h, replace, showVerdict } from './dom.js';
import * as fmt from './format.js';

/** Recording time asked for at once when playing on. */
const PIECE_MS = 30_000;
/** Characters of events held in the queue before the rest is asked later. */
const QUEUE_BUDGET = 4 * 1024 * 1024;
/** Ask for the next piece when less than this (in recording time) is left. */
const LOW_WATER_MS = 10_000;
/** Audit items marked on the progress bar (the list holds them all). */
const AUDIT_MARKERS = 2000;
/**
 * A click on a command shows the screen this long after its audit time:
 * the kernel stamps records with its coarse clock, and the recorder reads
 * the echoed command line a few ms later (as `screen --at cmd:N`).
 */
const AUDIT_LAG_MS = 50;
/** Pauses longer than this are marked as idle on the progress bar. */
const IDLE_MARK_MS = 60_000;
/** Input events kept in the input lane. */
const INPUT_KEPT = 500;

export const SPEEDS = [1 / 16, 1 / 8, 1 / 4, 1 / 2, 1, 2, 4, 8, 16];

/** The jumps the keys make, in ms (as `termtape play`). */
const JUMPS = {
  ArrowLeft: -5_000,
  ArrowRight: 5_000,
  ArrowUp: 60_000,
  ArrowDown: -60_000,
  PageUp: -600_000,
  b: -600_000,
  PageDown: 600_000,
  f: 600_000,
};

export class Player {
  /**
   * `recording` is an `ls --json` object with its `source`; `at` the
   * moment to open at (ms), `highlight` a line of text to mark there.
   */
  constructor(api, recording, { at = 0, highlight = null, onClose = () => {} } = {}) {
    this.api = api;
    this.recording = recording;
    this.source = recording.source;
    this.rec = recording.rec;
    this.onClose = onClose;
    this.highlight = highlight;
    this.generation = 0;
    this.piece = null;
    this.queue = [];
    this.queueHead = 0;
    this.queuedChars = 0;
    this.pos = 0;
    this.loadedTo = 0;
    this.endAt = recording.live ? null : recording.duration;
    this.lastEventAt = 0;
    this.lastSeen = 0;
    this.playing = false;
    this.speed = 1;
    this.idleCap = null;
    this.liveEdge = false;
    this.markers = new Map();
    this.finds = [];
    this.seeks = 0;
    this.logs = [];
    this.logShown = null;
    /** The audit's commands and file events, in time order. */
    this.audit = [];
    this.auditShown = null;
    this.frame = this.frame.bind(this);

    this.build();
    this.term = new Terminal({
      disableStdin: true,
      cursorBlink: false,
      scrollback: 10_000,
      fontFamily: '"DejaVu Sans Mono", "Liberation Mono", monospace',
      fontSize: 14,
      allowProposedApi: false,
      // An OSC 8 hyperlink in a recording goes nowhere when clicked.
      linkHandler: { activate() {}, allowNonHttpProtocols: false },
    });
    this.term.open(this.screen);
    this.keyHandler = (e) => this.key(e);
    document.addEventListener('keydown', this.keyHandler);
    this.loadLogs();
    this.loadAudit();
    this.loadVerdict();
    if (recording.live && at === 0) {
      this.followLive();
    } else {
      this.seek(at);
    }
  }

  /** Stops everything the player runs and frees the terminal. */
  close() {
    this.generation += 1;
    this.cancelPiece();
    this.playing = false;
    if (this.raf) cancelAnimationFrame(this.raf);
    document.removeEventListener('keydown', this.keyHandler);
    this.term.dispose();
  }

  build() {
    const r = this.recording;
    this.position = h('span', { 'data-tt': 'position', class: 'tt-position' });
    this.playButton = h('button', { 'data-tt': 'play', type: 'button', onclick: () => this.toggle() }, 'Play');
    this.speedSelect = h(
      'select',
      { 'data-tt': 'speed', title: 'Speed', onchange: () => this.setSpeed(Number(this.speedSelect.value)) },
      SPEEDS.map((speed) =>
        h('option', { value: speed, selected: speed === 1 }, speed < 1 ? `1/${1 / speed}×` : `${speed}×`),
      ),
    );
    this.idleSelect = h(
      'select',
      {
        'data-tt': 'idle-cap',
        title: 'Longest pause played',
        onchange: () => {
          this.idleCap = this.idleSelect.value === '' ? null : Number(this.idleSelect.value);
        },
      },
      h('option', { value: '' }, 'pauses as recorded'),
      [1, 2, 5, 10].map((s) => h('option', { value: s * 1000 }, `pauses ≤ ${s} s`)),
    );
    this.clockInput = h('input', {
      'data-tt': 'clock',
      type: 'text',
      placeholder: 'YYYY-MM-DD HH:MM:SS or 1:30',
      title: 'Jump to a wall-clock time or a moment from the start (g)',
      onkeydown: (e) => {
        if (e.key === 'Enter') this.jumpTo(this.clockInput.value);
        e.stopPropagation();
      },
    });
    this.findInput = h('input', {
      'data-tt': 'find',
      type: 'search',
      placeholder: 'Find on screen (/)',
      onkeydown: (e) => {
        if (e.key === 'Enter') this.find(this.findInput.value);
        e.stopPropagation();
      },
    });
    this.fill = h('div', { class: 'tt-progress-fill' });
    this.markerLayer = h('div', { class: 'tt-markers' });
    this.progress = h(
      'div',
      { 'data-tt': 'progress', class: 'tt-progress', title: 'Click or drag to seek' },
      this.fill,
      this.markerLayer,
    );
    this.progress.addEventListener('pointerdown', (e) => this.drag(e));
    this.screen = h('div', { 'data-tt': 'screen', class: 'tt-screen' });
    this.highlightBox = h('div', { 'data-tt': 'highlight', class: 'tt-highlight', hidden: true });
    this.screenWrap = h('div', { class: 'tt-screen-wrap' }, this.screen, this.highlightBox);
    this.message = h('div', { 'data-tt': 'message', class: 'tt-message', role: 'status' });
    this.inputLane = h('div', { 'data-tt': 'input-lane', class: 'tt-input-lane' });
    this.logList = h('ol', { 'data-tt': 'logs', class: 'tt-logs' });
    this.auditList = h('ol', { 'data-tt': 'audit', class: 'tt-logs tt-audit' });
    this.liveBadge = h('span', { 'data-tt': 'live', class: 'tt-live', hidden: true }, 'live');
    this.verdictBadge = h('span', { 'data-tt': 'verdict', class: 'tt-verdict' }, 'checking the hash chain…');
    const title = `${r.user ?? '?'}@${r.host ?? '?'}`;
    this.root = h(
      'section',
      { 'data-tt': 'player', 'data-state': 'loading', class: 'tt-player' },
      h(
        'header',
        { class: 'tt-player-head' },
        h('button', { type: 'button', 'data-tt': 'back', onclick: () => this.onClose() }, '← Recordings'),
        h('strong', { 'data-tt': 'title' }, title),
        h('span', { class: 'tt-dim' }, fmt.clock(r.start)),
        h('span', { class: 'tt-dim tt-rec', title: 'Recording id' }, r.rec),
        this.liveBadge,
        this.verdictBadge,
      ),
      h(
        'div',
        { class: 'tt-controls' },
        this.playButton,
        this.speedSelect,
        this.idleSelect,
        this.position,
        this.clockInput,
        this.findInput,
        h('button', { type: 'button', 'data-tt': 'zoom-out', title: 'Smaller', onclick: () => this.zoom(-1) }, 'A−'),
        h('button', { type: 'button', 'data-tt': 'zoom-in', title: 'Larger', onclick: () => this.zoom(1) }, 'A+'),
        h('button', { type: 'button', 'data-tt': 'fit', title: 'Fit to width', onclick: () => this.fit() }, 'Fit'),
        h('button', { type: 'button', 'data-tt': 'fullscreen', onclick: () => this.fullscreen() }, 'Full screen'),
        h('button', { type: 'button', 'data-tt': 'copy', onclick: () => this.copy() }, 'Copy screen'),
        h('button', { type: 'button', 'data-tt': 'download', onclick: () => this.download() }, 'Original bytes'),
      ),
      this.progress,
      this.message,
      h(
        'div',
        { class: 'tt-player-body' },
        this.screenWrap,
        h(
          'aside',
          { class: 'tt-side' },
          h('h3', {}, 'Typed input'),
          this.inputLane,
          h('h3', { title: 'Programs run and watched files touched in this session, as the kernel’s audit log saw them' }, 'Commands (audit)'),
          this.auditList,
          h('h3', {}, 'Logs of ', r.host ?? 'the host'),
          this.logList,
        ),
      ),
    );
  }

  // --- reading pieces of the recording ---------------------------------

  cancelPiece() {
    if (this.piece) {
      this.piece.cancel();
      this.piece = null;
    }
  }

  /** Draws the screen at `target` (ms), then plays on if playing. */
  seek(target) {
    const at = Math.max(0, Math.round(target));
    this.liveEdge = false;
    this.liveBadge.hidden = true;
    this.startPiece({ at, to: at + PIECE_MS, fresh: true });
  }

  /** Joins a live recording at its latest keyframe and follows it. */
  followLive() {
    this.liveEdge = true;
    this.liveBadge.hidden = false;
    this.startPiece({ at: Math.max(this.recording.duration ?? 0, this.loadedTo), to: null, fresh: true, follow: true });
    this.play();
  }

  /**
   * Asks for events from `at`: a fresh piece draws its keyframe and applies
   * the events up to `at` at once; a continuation drops what it already
   * has (everything up to `at`).
   */
  startPiece({ at, to, fresh, follow = false }) {
    this.cancelPiece();
    const generation = fresh ? ++this.generation : this.generation;
    const piece = { at, to, fresh, drawn: !fresh, floor: at, lastAt: null, started: performance.now() };
    if (fresh) {
      this.queue = [];
      this.queueHead = 0;
      this.queuedChars = 0;
      this.loadedTo = at;
      this.pos = at;
      this.setState('loading');
    }
    const stream = this.api.events(this.source, this.rec, { at, to, follow }, (object) => {
      if (generation === this.generation && this.piece === stream) this.receive(object, piece);
    });
    this.piece = stream;
    stream.done.then(
      () => {
        if (this.piece === stream) this.piece = null;
        if (generation === this.generation && !piece.drawn) this.drawn(piece);
      },
      (e) => {
        if (this.piece === stream) this.piece = null;
        if (generation === this.generation) this.fail(e);
      },
    );
  }

  receive(object, piece) {
    switch (object.type) {
      case 'keyframe':
        if (!piece.fresh) return;
        this.drawKeyframe(object);
        piece.floor = object.seek ?? object.at;
        this.pos = piece.floor;
        if (object.from === 'replay' && object.why === 'no_keyframes') {
          this.say('This recording has no keyframes: each seek replays it from its start. `termtape keyframe` adds them.');
        }
        return;
      case 'end':
        if (object.reason === 'to' && piece.to !== null) {
          this.loadedTo = Math.max(this.loadedTo, piece.to);
        } else {
          this.endAt = Math.max(object.at, this.lastEventAt, this.endAt ?? 0);
          this.loadedTo = Infinity;
          this.liveBadge.hidden = true;
        }
        if (!piece.drawn) {
          // A seek past the end shows the end.
          if (this.endAt !== null && this.loadedTo === Infinity) piece.floor = Math.min(piece.floor, this.endAt);
          this.pos = piece.floor;
          this.drawn(piece);
        }
        return;
      case 'error':
        this.say(`Error from the recording: ${object.message}`);
        return;
      default:
        break;
    }
    if (typeof object.at !== 'number') return;
    this.mark(object);
    if (object.at <= piece.floor) {
      // Up to the moment of a seek: drawn at once. In a continuation:
      // already held.
      if (piece.fresh) this.apply(object);
      return;
    }
    if (!piece.drawn) this.drawn(piece);
    this.queue.push(object);
    this.queuedChars += weight(object);
    this.loadedTo = Math.max(this.loadedTo, object.at - 1);
    piece.lastAt = object.at;
    if (this.queuedChars > QUEUE_BUDGET && !this.liveEdge) this.cut(piece);
  }

  /**
   * The queue is full: stop reading, dropping the last moment's events
   * (more of that moment may be on the way), and ask again from there later.
   */
  cut(piece) {
    const last = piece.lastAt;
    if (last - 1 <= piece.floor) return;
    while (this.queue.length > this.queueHead && this.queue[this.queue.length - 1].at >= last) {
      this.queuedChars -= weight(this.queue.pop());
    }
    this.loadedTo = last - 1;
    this.cancelPiece();
  }

  /** Asks for the next piece when the queue runs low. */
  refill() {
    if (this.piece || this.loadedTo === Infinity || this.state === 'loading') return;
    const ahead = this.loadedTo - this.pos;
    if (ahead > LOW_WATER_MS * Math.max(1, this.speed) && this.queuedChars > 0) return;
    if (this.queuedChars > QUEUE_BUDGET / 2) return;
    const follow = this.recording.live && this.endAt === null;
    this.startPiece({ at: this.loadedTo, to: follow ? null : this.loadedTo + PIECE_MS, fresh: false, follow });
  }

  /** The screen at the seek's moment is complete: show it. */
  drawn(piece) {
    piece.drawn = true;
    const at = piece.floor;
    const generation = this.generation;
    this.term.write('', () => {
      // Written; the DOM renderer paints on the next animation frame.
      requestAnimationFrame(() =>
        requestAnimationFrame(() => {
          if (generation !== this.generation) return;
          this.seeks += 1;
          this.root.dataset.drawn = String(at);
          this.root.dataset.seeks = String(this.seeks);
          this.root.dataset.seekMs = String(Math.round(performance.now() - piece.started));
          this.setState(this.playing ? 'playing' : this.atEnd() ? 'ended' : 'paused');
          this.showHighlight();
          this.updatePosition();
          if (this.playing) this.schedule();
        }),
      );
    });
  }

  drawKeyframe(keyframe) {
    this.term.reset();
    this.term.resize(keyframe.cols, keyframe.rows);
    this.term.write(keyframe.vt);
    if (keyframe.tail) this.term.write(Uint8Array.from(keyframe.tail));
    this.lastEventAt = keyframe.at;
  }

  /** Applies one event to the screen (and the lanes beside it). */
  apply(event) {
    switch (event.type) {
      case 'output':
        if (event.text !== undefined) this.term.write(event.text);
        else if (event.bytes) this.term.write(Uint8Array.from(event.bytes));
        break;
      case 'resize':
        this.term.resize(event.cols, event.rows);
        break;
      case 'input':
        this.typed(event.at, event.text ?? new TextDecoder().decode(Uint8Array.from(event.bytes ?? [])), false);
        break;
      case 'redacted':
        this.typed(event.at, `[${event.keys ?? '?'} keys redacted]`, true);
        break;
      case 'exit':
        this.say(`The session ended: ${exitText(event.exit)}.`);
        break;
      default:
        break;
    }
    this.lastEventAt = Math.max(this.lastEventAt, event.at);
  }

  // --- markers ----------------------------------------------------------

  /** Remembers what the progress bar marks, as the events show it. */
  mark(event) {
    const kinds = { resize: 'resize', gap: 'gap', login: 'login' };
    const kind = kinds[event.type];
    if (kind) this.addMarker(kind, event.at, markerTitle(event));
    if ((event.type === 'output' || event.type === 'input') && event.at - this.lastSeen > IDLE_MARK_MS) {
      this.addMarker('idle', this.lastSeen, `idle ${fmt.duration(event.at - this.lastSeen)}`, event.at);
    }
    if (event.type === 'output' || event.type === 'input') this.lastSeen = event.at;
  }

  addMarker(kind, at, title, until = null) {
    const key = `${kind}:${at}`;
    if (this.markers.has(key)) return;
    const marker = h('button', {
      type: 'button',
      'data-tt': 'marker',
      'data-kind': kind,
      'data-at': at,
      class: `tt-marker tt-marker-${kind}`,
      title: `${title} at ${fmt.position(at)}`,
      onclick: (e) => {
        e.stopPropagation();
        this.seek(at);
      },
    });
    marker.addEventListener('pointerdown', (e) => e.stopPropagation());
    this.markers.set(key, { marker, at, until });
    this.markerLayer.append(marker);
    this.placeMarkers();
  }

  placeMarkers() {
    const length = this.length();
    for (const { marker, at, until } of this.markers.values()) {
      marker.style.left = `${(100 * Math.min(at, length)) / length}%`;
      if (until !== null) marker.style.width = `${(100 * (Math.min(until, length) - at)) / length}%`;
    }
  }

  // --- playing ------------------------------------------------------------

  toggle() {
    if (this.playing) this.pause();
    else this.play();
  }

  play() {
    if (this.atEnd()) this.seek(0);
    this.playing = true;
    this.playButton.textContent = 'Pause';
    if (this.state !== 'loading') this.setState('playing');
    this.schedule();
  }

  pause() {
    this.playing = false;
    this.playButton.textContent = 'Play';
    if (this.state !== 'loading') this.setState(this.atEnd() ? 'ended' : 'paused');
  }

  setSpeed(speed) {
    this.speed = speed;
    this.speedSelect.value = String(speed);
  }

  schedule() {
    if (!this.raf) {
      this.lastNow = performance.now();
      this.raf = requestAnimationFrame(this.frame);
    }
  }

  /** One animation frame of playing: applies what is due by now. */
  frame(now) {
    this.raf = null;
    if (!this.playing || this.state === 'loading') return;
    let target = this.pos + (now - this.lastNow) * this.speed;
    this.lastNow = now;
    const next = this.queue[this.queueHead];
    if (next && this.idleCap !== null && next.at - this.pos > this.idleCap) {
      target = Math.max(target, next.at - this.idleCap);
    }
    if (this.liveEdge) target = Math.max(target, this.loadedTo);
    if (target > this.loadedTo) target = this.loadedTo;
    this.applyUntil(target);
    if (this.endAt !== null && this.loadedTo === Infinity) target = Math.min(target, this.endAt);
    this.pos = Math.max(this.pos, target);
    this.updatePosition();
    this.refill();
    if (this.atEnd()) {
      this.pause();
      return;
    }
    this.raf = requestAnimationFrame(this.frame);
  }

  /** Applies the queued events up to `target`, output in one write. */
  applyUntil(target) {
    let text = '';
    while (this.queueHead < this.queue.length && this.queue[this.queueHead].at <= target) {
      const event = this.queue[this.queueHead];
      this.queueHead += 1;
      this.queuedChars -= weight(event);
      if (event.type === 'output' && event.text !== undefined) {
        text += event.text;
        this.lastEventAt = Math.max(this.lastEventAt, event.at);
      } else {
        if (text) this.term.write(text);
        text = '';
        this.apply(event);
      }
    }
    if (text) this.term.write(text);
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    if (this.queueHead > 0) this.hideHighlight();
  }

  /** One event forward, while paused (`.`). */
  step() {
    if (this.playing || this.queueHead >= this.queue.length) {
      this.refill();
      return;
    }
    const event = this.queue[this.queueHead];
    this.applyUntil(event.at);
    this.pos = event.at;
    this.updatePosition();
    this.refill();
  }

  atEnd() {
    return this.endAt !== null && this.loadedTo === Infinity && this.queueHead >= this.queue.length && this.pos >= this.endAt;
  }

  /** The recording's length as far as it is known (it grows while live). */
  length() {
    const known = Number.isFinite(this.loadedTo) ? this.loadedTo : 0;
    return Math.max(1, this.endAt ?? 0, this.recording.duration ?? 0, known, this.pos);
  }

  updatePosition() {
    const length = this.length();
    this.position.textContent = `${fmt.position(this.pos)} / ${fmt.duration(length)}`;
    const start = this.recording.start;
    if (start) this.position.title = fmt.clock(start + this.pos);
    this.fill.style.width = `${(100 * Math.min(this.pos, length)) / length}%`;
    this.root.dataset.at = String(Math.round(this.pos));
    this.followLogs();
    this.followAudit();
  }

  setState(state) {
    this.state = state;
    this.root.dataset.state = state;
  }

  say(text) {
    this.message.textContent = text;
  }

  fail(error) {
    this.say(`Could not read the recording: ${error.message ?? error}`);
    this.setState('error');
  }

  // --- seeking by the reviewer ---------------------------------------------

  drag(e) {
    e.preventDefault();
    const bar = this.progress.getBoundingClientRect();
    const at = (x) => (Math.min(Math.max(x - bar.left, 0), bar.width) / bar.width) * this.length();
    const move = (ev) => {
      this.fill.style.width = `${(100 * at(ev.clientX)) / this.length()}%`;
      this.position.textContent = `${fmt.position(at(ev.clientX))} / ${fmt.duration(this.length())}`;
    };
    const up = (ev) => {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
      this.seek(at(ev.clientX));
    };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
  }

  /** Jumps to a wall-clock time or a moment from the start, as typed. */
  jumpTo(text) {
    const t = text.trim();
    if (t === 'end') {
      this.seek(this.length());
      return;
    }
    const offset = fmt.parseOffset(t);
    if (offset !== null) {
      this.seek(offset);
      return;
    }
    const wall = fmt.parseClock(t);
    if (wall !== null && this.recording.start) {
      const at = wall - this.recording.start;
      if (at < 0 || at > this.length()) {
        this.say(`${t} is outside this recording (${fmt.clock(this.recording.start)} to ${fmt.clock(this.recording.start + this.length())}).`);
        return;
      }
      this.seek(at);
      return;
    }
    this.say(`Not a moment: ${t} (give seconds, M:SS, H:MM:SS, end, or YYYY-MM-DD HH:MM[:SS]).`);
  }

  key(e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) return;
    const jump = JUMPS[e.key];
    if (jump !== undefined) {
      this.seek(Math.min(Math.max(0, this.pos + jump), this.length()));
    } else if (e.key === ' ' || e.key === 'p') {
      this.toggle();
    } else if (e.key === '+' || e.key === '-') {
      const i = SPEEDS.indexOf(this.speed) + (e.key === '+' ? 1 : -1);
      this.setSpeed(SPEEDS[Math.min(Math.max(i, 0), SPEEDS.length - 1)]);
    } else if (e.key === 'Home') {
      this.seek(0);
    } else if (e.key === 'End') {
      if (this.recording.live && this.endAt === null) this.followLive();
      else this.seek(this.length());
    } else if (e.key === 'g') {
      this.clockInput.focus();
    } else if (e.key === '/') {
      this.findInput.focus();
    } else if (e.key === 'n' || e.key === 'N') {
      this.nextFind(e.key === 'n' ? 1 : -1);
    } else if (e.key === '.') {
      this.step();
    } else if (e.key === 'q' || e.key === 'Escape') {
      this.onClose();
    } else {
      return;
    }
    e.preventDefault();
  }

  // --- finding -------------------------------------------------------------

  async find(text) {
    if (!text.trim()) return;
    for (const [key, { marker }] of this.markers) {
      if (key.startsWith('hit:')) {
        marker.remove();
        this.markers.delete(key);
      }
    }
    try {
      const ignoreCase = text === text.toLowerCase();
      this.finds = await this.api.search(text, { ignoreCase, source: this.source, rec: this.rec });
    } catch (e) {
      this.say(`Search failed: ${e.message}`);
      return;
    }
    for (const hit of this.finds) this.addMarker('hit', hit.at, hit.line);
    this.say(this.finds.length === 0 ? `Not found: ${text}` : `${this.finds.length} finds of ${text} (n/N: next/previous)`);
    this.nextFind(1);
  }

  nextFind(direction) {
    const sorted = [...this.finds].sort((a, b) => a.at - b.at);
    const hit =
      direction > 0 ? sorted.find((f) => f.at > this.pos) ?? sorted[0] : [...sorted].reverse().find((f) => f.at < this.pos) ?? sorted.at(-1);
    if (!hit) return;
    this.highlight = hit.line;
    this.seek(hit.at);
  }

  /** Marks the row holding the line a search found. */
  showHighlight() {
    if (!this.highlight) return;
    const rows = screenRows(this.screen);
    const line = this.highlight.trim();
    // Only the line itself: a longer line holding it is another line.
    const row = rows.findIndex((text) => text.trim() === line);
    const rowElements = this.screen.querySelectorAll('.xterm-rows > div');
    if (row < 0 || !rowElements[row]) {
      this.say(`The line found (${line}) scrolled past within the same moment.`);
      this.hideHighlight();
      return;
    }
    const wrap = this.screenWrap.getBoundingClientRect();
    const box = rowElements[row].getBoundingClientRect();
    Object.assign(this.highlightBox.style, {
      top: `${box.top - wrap.top}px`,
      left: `${box.left - wrap.left}px`,
      width: `${box.width}px`,
      height: `${box.height}px`,
    });
    this.highlightBox.dataset.row = String(row);
    this.highlightBox.hidden = false;
  }

  hideHighlight() {
    if (!this.highlightBox.hidden) this.highlightBox.hidden = true;
  }

  // --- lanes beside the screen -------------------------------------------------

  typed(at, text, redacted) {
    const entry = h(
      'div',
      { class: redacted ? 'tt-typed tt-redacted' : 'tt-typed', 'data-at': at },
      h('span', { class: 'tt-dim' }, fmt.position(at), ' '),
      fmt.keys(text),
    );
    this.inputLane.append(entry);
    while (this.inputLane.childElementCount > INPUT_KEPT) this.inputLane.firstElementChild.remove();
    entry.scrollIntoView({ block: 'nearest' });
  }

  /** Shows whether the recording's hash chain and seals check out
   * (`termtape verify`; a full read, so it comes when it comes). */
  async loadVerdict() {
    let verdict;
    try {
      verdict = await this.api.verdict(this.source, this.rec);
    } catch (e) {
      showVerdict(this.verdictBadge, { error: e.message });
      return;
    }
    showVerdict(this.verdictBadge, verdict);
    // The seals that checked out, where the reviewer can see them.
    for (const point of verdict?.checkpoints ?? []) {
      this.addMarker(point.resumes ? 'seal-resumes' : 'seal', Number(point.pos), checkpointTitle(point));
    }
  }

  async loadLogs() {
    try {
      const objects = await this.api.logs(this.source, this.rec);
      this.logs = objects.filter((o) => o.type === 'log');
      const end = objects.find((o) => o.type === 'end');
      replace(
        this.logList,
        this.logs.map((log) =>
          h(
            'li',
            {
              'data-tt': 'log',
              'data-at': log.at,
              class: `tt-log tt-priority-${log.priority ?? 6}`,
              title: fmt.clock(log.time),
              onclick: () => this.seek(Math.max(0, log.at)),
            },
            h('span', { class: 'tt-dim' }, fmt.position(Math.max(0, log.at)), ' '),
            log.identifier ? `${log.identifier}${log.pid ? `[${log.pid}]` : ''}: ` : '',
            log.message,
          ),
        ),
        this.logs.length === 0 ? h('li', { class: 'tt-dim' }, 'No log entries in this recording’s time.') : null,
        end?.truncated ? h('li', { class: 'tt-dim' }, `Only the first ${end.count} entries are shown.`) : null,
      );
      this.followLogs();
    } catch (e) {
      replace(this.logList, h('li', { class: 'tt-dim' }, `Logs unavailable: ${e.message}`));
    }
  }

  /** Keeps the log entry of the moment played in view. */
  followLogs() {
    this.logShown = follow(this.logList, '[data-tt=log]', this.logs, this.logShown, this.pos);
  }

  /**
   * The programs run and watched files touched in the recording's audit
   * session (`termtape commands|files --json`), listed beside the screen
   * and marked on the progress bar; the one of the moment played is
   * highlighted, and a click shows the screen as it started.
   */
  async loadAudit() {
    let objects;
    try {
      const [commands, files] = await Promise.all([
        this.api.commands(this.source, this.rec),
        this.api.files(this.source, this.rec),
      ]);
      objects = [...commands, ...files];
    } catch (e) {
      replace(this.auditList, h('li', { class: 'tt-dim' }, `Audit records unavailable: ${e.message}`));
      return;
    }
    const why = objects.find((o) => o.type === 'recording')?.why;
    this.audit = objects
      .filter((o) => o.type === 'command' || o.type === 'file')
      .sort((a, b) => a.at - b.at || a.serial - b.serial);
    replace(
      this.auditList,
      this.audit.map((item) => this.auditItem(item)),
      this.audit.length === 0
        ? h('li', { class: 'tt-dim' }, why ? `No commands: ${why}.` : 'No commands or watched files in the audit records.')
        : null,
    );
    this.audit.slice(0, AUDIT_MARKERS).forEach((item) =>
      this.addMarker(item.type, item.at, item.type === 'command' ? fmt.commandLine(item.argv) : `${item.operation ?? 'file'} ${item.path ?? ''}`),
    );
    this.followAudit();
  }

  auditItem(item) {
    const failed = item.success === false ? h('span', { class: 'tt-warning', title: `failed${item.exit !== null && item.exit !== undefined ? `: ${item.exit}` : ''}` }, ' ✗') : null;
    const where = `${fmt.clock(item.time)} pid ${item.pid ?? '?'} uid ${item.uid ?? '?'} auid ${item.auid ?? '?'}${item.cwd ? ` in ${item.cwd}` : ''}`;
    const body =
      item.type === 'command'
        ? h('code', {}, fmt.commandLine(item.argv))
        : [h('span', { class: 'tt-dim' }, `${item.operation ?? 'file'} `), h('code', {}, fmt.visible(item.path ?? '?'))];
    return h(
      'li',
      {
        'data-tt': item.type,
        'data-at': item.at,
        'data-n': item.n,
        class: `tt-log tt-audit-${item.type}`,
        title: fmt.visible(where),
        onclick: () => this.seek(item.at + AUDIT_LAG_MS),
      },
      h('span', { class: 'tt-dim' }, fmt.position(item.at), ' '),
      body,
      failed,
    );
  }

  followAudit() {
    this.auditShown = follow(this.auditList, '[data-tt=command],[data-tt=file]', this.audit, this.auditShown, this.pos);
  }

  // --- view ----------------------------------------------------------------

  zoom(step) {
    this.term.options.fontSize = Math.min(Math.max(6, this.term.options.fontSize + step), 40);
    this.showHighlight();
  }

  /** Sizes the font so the terminal fills the width it has. */
  fit() {
    const available = this.screenWrap.clientWidth;
    const used = this.screen.querySelector('.xterm-screen')?.getBoundingClientRect().width;
    if (!used || !available) return;
    const size = Math.floor((this.term.options.fontSize * available) / used);
    this.term.options.fontSize = Math.min(Math.max(6, size), 40);
    this.showHighlight();
  }

  fullscreen() {
    if (document.fullscreenElement) document.exitFullscreen();
    else this.root.requestFullscreen?.();
  }

  async copy() {
    const text = this.term.hasSelection() ? this.term.getSelection() : screenRows(this.screen).join('\n');
    try {
      await navigator.clipboard.writeText(text);
      this.say('Copied.');
    } catch (e) {
      this.say(`Could not copy: ${e.message}`);
    }
  }

  /** Saves the recording's bytes as recorded (before charset conversion). */
  async download() {
    try {
      const blob = await this.api.original(this.source, this.rec);
      const link = h('a', { href: URL.createObjectURL(blob), download: `${safeName(this.rec)}.out.bin` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    } catch (e) {
      this.say(`Could not download: ${e.message}`);
    }
  }
}

/** How a session ended, from an `exit` object, in words. */
function exitText(exit) {
  if (!exit || typeof exit !== 'object') return 'how is not known';
  if (typeof exit.code === 'number') return `exit status ${exit.code}`;
  if (typeof exit.signal === 'number') return `killed by signal ${exit.signal}`;
  if (typeof exit.stopped === 'number') return `the recorder was stopped by signal ${exit.stopped}`;
  if (typeof exit.writer_failed === 'number') {
    // The recording's writer could no longer write (errno, 0: none known):
    // the end mark was kept back and written once it could be.
    return `the recording's writer failed${exit.writer_failed ? ` (errno ${exit.writer_failed})` : ''}`;
  }
  return Object.entries(exit)
    .map(([key, value]) => `${key} ${typeof value === 'object' ? JSON.stringify(value) : value}`)
    .join(', ');
}

/** What an event costs the queue, in characters. */
function weight(event) {
  return (event.text?.length ?? event.bytes?.length ?? 0) + 64;
}

function markerTitle(event) {
  switch (event.type) {
    case 'resize':
      return `resized to ${event.cols}×${event.rows}`;
    case 'gap':
      return 'a rate limit dropped output here';
    case 'login':
      return `nested login${event.user ? ` of ${event.user}` : ''}`;
    default:
      return event.type;
  }
}

/**
 * Highlights, in `list`, the last of `items` (sorted by `at`) at or before
 * `pos` and keeps it in view; gives its index (what to pass next time).
 */
function follow(list, selector, items, shown, pos) {
  if (items.length === 0) return shown;
  let index = -1;
  for (let i = 0; i < items.length && items[i].at <= pos; i += 1) index = i;
  if (index === shown) return shown;
  const nodes = list.querySelectorAll(selector);
  nodes[shown]?.classList.remove('tt-current');
  const node = nodes[index];
  if (node) {
    node.classList.add('tt-current');
    node.scrollIntoView({ block: 'nearest' });
  }
  return index;
}

/** What a checkpoint (a seal that checked out) vouches for. */
function checkpointTitle(point) {
  const what = point.end ? 'end mark sealed' : point.gap ? 'rate-limit gap sealed' : 'sealed';
  const scope = point.resumes ? ' (after a break: vouches only for what follows)' : '';
  return `${what}, message ${point.id}${scope}`;
}

/** A file name made of the recording id's safe characters only. */
function safeName(rec) {
  return String(rec).replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 120) || 'recording';
}

/** The visible rows' text as xterm.js's DOM renderer shows them. */
export function screenRows(container) {
  return [...container.querySelectorAll('.xterm-rows > div')].map((row) =>
    row.textContent.replace(/\u00a0/g, ' ').replace(/\s+$/, ''),
  );
}
