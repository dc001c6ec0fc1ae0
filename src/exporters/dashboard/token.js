// wattprint dashboard token: read from the URL fragment (`/#token=…`, which the browser never sends to a
// server), kept for this tab in sessionStorage, offered on /ws as a `bearer.<base64url>` subprotocol, and asked
// for with a small form when the agent refuses the feed (HTTP 401).
(function (root) {
  'use strict';

  const KEY = 'wattprint.token';
  const $ = (id) => document.getElementById(id);

  function stored() {
    try { return sessionStorage.getItem(KEY) || ''; } catch { return ''; }
  }

  function remember(token) {
    try { sessionStorage.setItem(KEY, token); } catch { /* private mode: the token lasts until reload */ }
  }

  // initial: the fragment's token (then taken out of the address bar and history), else ?token= (older links),
  // else the one this tab used before.
  function initial() {
    const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
    if (fromHash) {
      remember(fromHash);
      history.replaceState(null, '', location.pathname + location.search);
      return fromHash;
    }
    return new URLSearchParams(location.search).get('token') || stored();
  }

  function base64url(text) {
    let binary = '';
    for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
    return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  // protocols: what the WebSocket offers; the agent answers 'wattprint' and reads the token from the other.
  function protocols(token) {
    return token ? ['wattprint', `bearer.${base64url(token)}`] : ['wattprint'];
  }

  // refused asks the agent whether the token is the reason the feed failed (a WebSocket cannot see the 401).
  async function refused(token) {
    try {
      const res = await fetch('/api/snapshot', { headers: token ? { Authorization: `Bearer ${token}` } : {}, cache: 'no-store' });
      return res.status === 401;
    } catch {
      return false;
    }
  }

  // ask shows the form and calls onToken with what the user enters.
  function ask(hadToken, onToken) {
    const form = $('token-form');
    $('token-error').textContent = hadToken
      ? 'The agent refused this token: enter the one it was started with (--token).'
      : 'This agent requires a token (it was started with --token): enter it to see the run.';
    form.hidden = false;
    $('token-input').focus();
    form.onsubmit = (ev) => {
      ev.preventDefault();
      const token = $('token-input').value.trim();
      if (!token) return;
      remember(token);
      form.hidden = true;
      onToken(token);
    };
  }

  root.wattprintToken = { initial, protocols, refused, ask };
})(window);
