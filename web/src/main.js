// termtape's review page: routes between the recordings view and the player.
// The same bundle runs under `termtape serve` and as a Cockpit page.

import { connect } from './api.js';
import { h, replace } from './dom.js';
import { RecordingsView } from './list.js';
import { Player, screenRows } from './player.js';

const api = connect();
const app = document.getElementById('app');
const list = new RecordingsView(api, { open });
let player = null;
const listed = list.load();

/** What a search hit asked to highlight, kept out of the address bar. */
let highlight = null;

function open(recording, at, line = null) {
  highlight = line;
  const q = new URLSearchParams({ source: String(recording.source), rec: recording.rec, at: String(Math.round(at)) });
  window.location.hash = `#/play?${q}`;
}

async function route() {
  const hash = window.location.hash || '#/';
  const [path, query = ''] = hash.slice(1).split('?');
  const params = new URLSearchParams(query);
  if (player) {
    player.close();
    player = null;
  }
  if (path === '/play') {
    await listed;
    const source = Number(params.get('source'));
    const rec = params.get('rec');
    const recording =
      list.recordings.find((r) => r.source === source && r.rec === rec) ?? { source, rec, user: null, host: null, start: null };
    player = new Player(api, recording, {
      at: Number(params.get('at') ?? 0) || 0,
      highlight,
      onClose: () => {
        window.location.hash = '#/';
      },
    });
    highlight = null;
    replace(app, player.root);
    return;
  }
  replace(app, list.root);
  if (path === '/search' && params.get('q')) {
    await listed;
    list.search(params.get('q'), params.get('input') === '1');
  }
}

window.addEventListener('hashchange', route);
route();

// For tests and scripts: the screen as the reviewer sees it.
window.termtapeTest = {
  screenRows: () => (player ? screenRows(player.screen) : []),
};

document.title = 'termtape recordings';
app.before(h('noscript', {}, 'termtape needs JavaScript.'));
