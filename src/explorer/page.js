// The explorer's sign-in helper, around GraphiQL (the `YogaGraphiQL` global of graphiql.js).
// It fills GraphiQL's Headers editor with `authorization: Bearer <token>` (GraphiQL keeps the
// headers across reloads), renews a token it got with the admin client before it expires (or
// when the API refuses it), and says plainly when a token no longer works.
'use strict';

(function explorer() {
  const config = JSON.parse(document.getElementById('explorer-config').textContent);
  const base = new URL('.', location.href);
  const endpoint = new URL('graphql', base);
  // The admin client's credentials and its current token, for this tab only.
  const SESSION_KEY = 'roster-explorer:client';
  const RENEW_MARGIN_MS = 30_000;

  // GraphiQL's editor (Monaco) workers, served by Roster; the global API lets the helper reach
  // the Headers editor's model.
  const workers = { editorWorkerService: 'editor.worker.js', json: 'json.worker.js', graphql: 'graphql.worker.js' };
  self.MonacoEnvironment = {
    globalAPI: true,
    getWorkerUrl: (_moduleId, label) => new URL(`explorer/${workers[label] ?? workers.editorWorkerService}`, base).href,
  };

  const $ = (id) => document.getElementById(id);

  function say(message) {
    $('roster-problem').textContent = message;
  }

  function loadClient() {
    try {
      return JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null');
    } catch {
      return null;
    }
  }

  function saveClient(client) {
    if (client) sessionStorage.setItem(SESSION_KEY, JSON.stringify(client));
    else sessionStorage.removeItem(SESSION_KEY);
  }

  /** The `exp` of a JWT access token, in milliseconds; null when it has none or is no JWT. */
  function expiryOf(token) {
    try {
      const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      const exp = JSON.parse(atob(payload)).exp;
      return typeof exp === 'number' ? exp * 1000 : null;
    } catch {
      return null;
    }
  }

  const time = (ms) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

  function showStatus(headers) {
    const client = loadClient();
    const token = bearerOf(headers);
    let text = 'Not signed in: sign in to load the schema and run queries.';
    if (client && token === client.token) {
      text = `Signed in with client ${client.clientId} of realm ${client.realm}; the token renews itself (next at ${time(client.expiresAt)}).`;
    } else if (token) {
      const expiry = expiryOf(token);
      text = expiry
        ? `Using the access token in the headers; it expires at ${time(expiry)}.`
        : 'Using the access token in the headers.';
    }
    $('roster-status').textContent = text;
    $('roster-forget').hidden = !token && !client;
  }

  /** The request headers of the Headers editor, or of GraphiQL's storage before it exists. */
  function currentHeaders() {
    const model = headersModel();
    const text = model ? model.getValue() : localStorage.getItem('graphiql:headers');
    try {
      const parsed = JSON.parse(text || '{}');
      return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : {};
    } catch {
      return {};
    }
  }

  function bearerOf(headers) {
    const name = Object.keys(headers).find((key) => key.toLowerCase() === 'authorization');
    const match = name && /^Bearer\s+(\S+)$/i.exec(String(headers[name]).trim());
    return match ? match[1] : null;
  }

  function headersModel() {
    return globalThis.monaco?.editor.getModels().find((model) => model.uri.path.endsWith('request-headers.json'));
  }

  /** Waits until GraphiQL has created its Headers editor. */
  function headersEditorReady() {
    return new Promise((resolve, reject) => {
      const started = performance.now();
      const look = () => {
        const model = headersModel();
        if (model) resolve(model);
        else if (performance.now() - started > 20_000) reject(new Error('GraphiQL’s Headers editor did not appear.'));
        else requestAnimationFrame(look);
      };
      look();
    });
  }

  /** Puts `authorization: Bearer <token>` into the Headers editor (null: removes it), keeping the other headers. */
  async function setAuthorization(token) {
    const model = await headersEditorReady();
    const headers = currentHeaders();
    for (const key of Object.keys(headers)) if (key.toLowerCase() === 'authorization') delete headers[key];
    if (token) headers.authorization = `Bearer ${token}`;
    model.setValue(JSON.stringify(headers, null, 2));
    showStatus(headers);
  }

  /** GraphiQL's own shortcut (Ctrl-Shift-R) to fetch the schema again, now with the new headers. */
  function refetchSchema() {
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'R', ctrlKey: true, shiftKey: true }));
  }

  /** The client credentials grant at the realm's token endpoint; throws with the endpoint's reason. */
  async function requestToken({ realm, clientId, clientSecret }) {
    const response = await fetch(new URL(`oauth2/${encodeURIComponent(realm)}/token`, base), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok || !answer.access_token) {
      throw new Error(answer.error_description || answer.error || `The token endpoint answered ${response.status}.`);
    }
    // The browser's clock, not the token's `exp`: a clock that is off still renews in time.
    return { token: answer.access_token, expiresAt: Date.now() + answer.expires_in * 1000 };
  }

  let renewing = null;
  /** A new token for the admin client of this tab (one request for concurrent callers); says why when there is none. */
  function renew(client) {
    renewing ??= renewOnce(client).finally(() => {
      renewing = null;
    });
    return renewing;
  }

  async function renewOnce(client) {
    try {
      const fresh = { ...client, ...(await requestToken(client)) };
      saveClient(fresh);
      await setAuthorization(fresh.token);
      return fresh;
    } catch (error) {
      // The credentials no longer work (or the server did not answer): the user signs in again.
      saveClient(null);
      say(`The token could not be renewed: ${error.message} Sign in again.`);
      return null;
    }
  }

  function withAuthorization(headers, token) {
    const result = {};
    for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() !== 'authorization') result[key] = value;
    if (token) result.authorization = `Bearer ${token}`;
    return result;
  }

  function post(params, headers) {
    return fetch(endpoint, {
      method: 'POST',
      headers: {
        accept: 'application/graphql-response+json, application/json',
        'content-type': 'application/json',
        ...headers,
      },
      body: JSON.stringify(params),
    });
  }

  function refusalReason(response) {
    const challenge = response.headers.get('www-authenticate') ?? '';
    return /error_description="([^"]*)"/.exec(challenge)?.[1]?.replace(/\.$/, '') ?? null;
  }

  /** GraphiQL's fetcher: every request of the page (queries and the schema's introspection). */
  async function fetcher(params, options) {
    const headers = options?.headers ?? currentHeaders();
    let token = bearerOf(headers);
    let client = loadClient();
    const own = client && token === client.token;
    say('');
    if (own && client.expiresAt - RENEW_MARGIN_MS <= Date.now()) {
      client = await renew(client);
      if (client) token = client.token;
    } else if (token && !own) {
      const expiry = expiryOf(token);
      if (expiry && expiry <= Date.now()) {
        say(`The access token in the headers expired at ${time(expiry)}: sign in again or paste a new one.`);
      }
    }
    let response = await post(params, withAuthorization(headers, token));
    if (response.status === 401 && own && client) {
      client = await renew(client);
      if (client) response = await post(params, withAuthorization(headers, client.token));
    }
    if (response.status === 401 && token && !$('roster-problem').textContent) {
      const reason = refusalReason(response);
      say(`The API refused the access token${reason ? `: ${reason}` : ''}. Sign in again or paste a new one.`);
    }
    showStatus(currentHeaders());
    return response.json();
  }

  function wire() {
    const dialog = $('roster-dialog');
    const dialogProblem = $('roster-dialog-problem');
    const open = () => {
      dialogProblem.textContent = '';
      dialog.showModal();
    };
    $('roster-sign-in').addEventListener('click', open);
    $('roster-close').addEventListener('click', () => dialog.close());

    const clientForm = $('client-form');
    clientForm?.addEventListener('submit', async (event) => {
      event.preventDefault();
      const data = new FormData(clientForm);
      const credentials = {
        realm: String(data.get('realm')).trim(),
        clientId: String(data.get('clientId')).trim(),
        clientSecret: String(data.get('clientSecret')),
      };
      dialogProblem.textContent = 'Asking the token endpoint…';
      try {
        const client = { ...credentials, ...(await requestToken(credentials)) };
        saveClient(client);
        await setAuthorization(client.token);
        clientForm.reset();
        dialog.close();
        say('');
        refetchSchema();
      } catch (error) {
        dialogProblem.textContent = `No token: ${error.message}`;
      }
    });

    const tokenForm = $('token-form');
    tokenForm.addEventListener('submit', async (event) => {
      event.preventDefault();
      const token = String(new FormData(tokenForm).get('token'))
        .trim()
        .replace(/^Bearer\s+/i, '');
      if (/\s/.test(token)) {
        dialogProblem.textContent = 'An access token has no spaces: paste the token alone.';
        return;
      }
      saveClient(null);
      await setAuthorization(token);
      tokenForm.reset();
      dialog.close();
      say('');
      refetchSchema();
    });

    $('roster-forget').addEventListener('click', async () => {
      saveClient(null);
      await setAuthorization(null);
      say('');
    });

    showStatus(currentHeaders());
    if (!bearerOf(currentHeaders()) && !loadClient()) open();
  }

  document.addEventListener('DOMContentLoaded', () => {
    globalThis.YogaGraphiQL.renderYogaGraphiQL($('graphiql'), {
      title: 'Roster',
      query: config.defaultQuery,
      fetcher,
      shouldPersistHeaders: true,
      defaultEditorToolsVisibility: 'headers',
    });
    wire();
  });
})();
