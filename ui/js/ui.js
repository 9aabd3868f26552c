// @ts-check
//! The page: draws the controller's view and turns clicks and keys into its actions. The only
//! module that touches the DOM.

import { listNames } from './callstate.js';
import { segments } from './chat.js';
import { size as sizeText } from './files.js';
import { Tiles, initials } from './tiles.js';

/**
 * @typedef {import('./controller.js').View} View
 * @typedef {{
 *   join: (name: string, room: string, server: string) => void,
 *   leaveRoom: () => void,
 *   startCamera: () => void,
 *   startCall: () => void,
 *   accept: () => void,
 *   joinCall: () => void,
 *   decline: () => void,
 *   hangup: () => void,
 *   toggleMute: () => void,
 *   toggleVideo: () => void,
 *   toggleScreen: () => void,
 *   chooseDevice: (what: 'camera'|'microphone'|'speaker', id: string) => void,
 *   dismissNotice: () => void,
 *   host: (name: string, maxPeople: number) => void,
 *   stopHosting: () => void,
 *   rejoin: () => void,
 *   openInBrowser: () => void,
 *   sendChat: (text: string) => boolean,
 *   setChatOpen: (open: boolean) => void,
 *   openLink: (url: string) => void,
 *   sendFiles: (files: File[], to: string | null) => void,
 *   acceptFile: (id: string) => void,
 *   declineFile: (id: string) => void,
 *   cancelFile: (id: string) => void,
 *   testConnection: () => void,
 * }} Actions
 */

/** @param {string} id */
function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el;
}

/** @param {HTMLElement} el @param {boolean} shown */
function show(el, shown) {
  el.hidden = !shown;
}


export class Page {
  /**
   * @param {Actions} actions
   * @param {{desktop: boolean, show: (video: HTMLVideoElement, stream: MediaStream | null) => void}} options
   *   show: puts a stream's picture in a video element (`srcObject`, or the native engine's canvas)
   */
  constructor(actions, { desktop, show: showStream }) {
    this.actions = actions;
    this.showStream = showStream;
    this.el = {
      joinView: $('joinView'),
      joinForm: /** @type {HTMLFormElement} */ ($('joinForm')),
      nameInput: /** @type {HTMLInputElement} */ ($('nameInput')),
      roomInput: /** @type {HTMLInputElement} */ ($('roomInput')),
      serverInput: /** @type {HTMLInputElement} */ ($('serverInput')),
      joinBtn: /** @type {HTMLButtonElement} */ ($('joinBtn')),
      roomView: $('roomView'),
      roomInfo: $('roomInfo'),
      roomName: $('roomName'),
      presence: $('presence'),
      remoteMuted: $('remoteMuted'),
      remoteStatus: $('remoteStatus'),
      remotePath: $('remotePath'),
      stage: $('tiles').parentElement ?? $('tiles'),
      tiles: $('tiles'),
      mainTile: $('mainTile'),
      mainTileName: $('mainTileName'),
      selfTile: /** @type {HTMLElement} */ ($('localVideo').parentElement),
      joinCallBar: $('joinCallBar'),
      joinCallText: $('joinCallText'),
      joinCallBtn: /** @type {HTMLButtonElement} */ ($('joinCallBtn')),
      connection: $('connection'),
      leaveBtn: $('leaveBtn'),
      notice: $('notice'),
      noticeText: $('noticeText'),
      remoteVideo: /** @type {HTMLVideoElement} */ ($('remoteVideo')),
      localVideo: /** @type {HTMLVideoElement} */ ($('localVideo')),
      selfOff: $('selfOff'),
      placeholder: $('remotePlaceholder'),
      placeholderText: $('placeholderText'),
      remoteAvatar: $('remoteAvatar'),
      callState: $('callState'),
      startBtn: /** @type {HTMLButtonElement} */ ($('startBtn')),
      callBtn: /** @type {HTMLButtonElement} */ ($('callBtn')),
      hangupBtn: /** @type {HTMLButtonElement} */ ($('hangupBtn')),
      muteBtn: /** @type {HTMLButtonElement} */ ($('muteBtn')),
      videoBtn: /** @type {HTMLButtonElement} */ ($('videoBtn')),
      devicesBtn: $('devicesBtn'),
      statsBtn: $('statsBtn'),
      chatBtn: $('chatBtn'),
      screenBtn: /** @type {HTMLButtonElement} */ ($('screenBtn')),
      chatUnread: $('chatUnread'),
      chatPanel: $('chatPanel'),
      chatLog: $('chatLog'),
      chatList: $('chatList'),
      chatError: $('chatError'),
      chatForm: /** @type {HTMLFormElement} */ ($('chatForm')),
      chatInput: /** @type {HTMLInputElement} */ ($('chatInput')),
      transferList: $('transferList'),
      fileInput: /** @type {HTMLInputElement} */ ($('fileInput')),
      fileTo: /** @type {HTMLSelectElement} */ ($('fileTo')),
      fileToLabel: $('fileToLabel'),
      devicesPanel: $('devicesPanel'),
      statsPanel: $('statsPanel'),
      statsList: $('statsList'),
      testConnectionBtn: /** @type {HTMLButtonElement} */ ($('testConnectionBtn')),
      connectionTest: $('connectionTest'),
      cameraSelect: /** @type {HTMLSelectElement} */ ($('cameraSelect')),
      microphoneSelect: /** @type {HTMLSelectElement} */ ($('microphoneSelect')),
      speakerSelect: /** @type {HTMLSelectElement} */ ($('speakerSelect')),
      speakerField: $('speakerField'),
      incoming: $('incoming'),
      callerName: $('callerName'),
      callerAvatar: $('callerAvatar'),
      acceptBtn: /** @type {HTMLButtonElement} */ ($('acceptBtn')),
      declineBtn: /** @type {HTMLButtonElement} */ ($('declineBtn')),
      hostField: $('hostField'),
      hostBtn: /** @type {HTMLButtonElement} */ ($('hostBtn')),
      recentServers: $('recentServers'),
      hostPanel: $('hostPanel'),
      hostAddresses: $('hostAddresses'),
      hostRoom: $('hostRoom'),
      hostSize: $('hostSize'),
      sizeSelect: /** @type {HTMLSelectElement} */ ($('sizeSelect')),
      copyInviteBtn: $('copyInviteBtn'),
      openBrowserBtn: $('openBrowserBtn'),
      openBrowserRoomBtn: $('openBrowserRoomBtn'),
      rejoinBtn: $('rejoinBtn'),
      stopHostBtn: $('stopHostBtn'),
    };
    show(this.el.hostField, desktop);
    if (desktop) $('joinLead').textContent = 'Host a call for someone on your network, or join one with its address and room code.';
    show($('serverField'), desktop);
    this.el.serverInput.required = desktop;
    /** @type {View | null} */
    this.last = null;
    /** Everyone's tiles: the first is the page's main tile (the tutorial's remoteVideo). */
    this.tiles = new Tiles({
      main: { video: this.el.remoteVideo, placeholder: this.el.placeholder, text: this.el.placeholderText, avatar: this.el.remoteAvatar, muted: this.el.remoteMuted, status: this.el.remoteStatus, path: this.el.remotePath, name: this.el.mainTileName, tile: this.el.mainTile },
      container: this.el.tiles,
      before: this.el.selfTile,
      showStream: this.showStream,
    });
    /** Received files already handed to the browser's downloads. @type {Set<string>} */
    this.downloaded = new Set();
    this.#bind();
  }

  /** @param {{name: string, room: string, server: string}} prefill */
  prefill({ name, room, server }) {
    this.el.nameInput.value = name;
    this.el.roomInput.value = room;
    this.el.serverInput.value = server;
    (name ? this.el.roomInput : this.el.nameInput).focus();
    if (name && room) this.el.joinBtn.focus();
  }

  #bind() {
    const { el, actions } = this;
    el.joinForm.addEventListener('submit', (e) => {
      e.preventDefault();
      actions.join(el.nameInput.value, el.roomInput.value, el.serverInput.value);
    });
    el.leaveBtn.addEventListener('click', () => actions.leaveRoom());
    el.startBtn.addEventListener('click', () => actions.startCamera());
    el.callBtn.addEventListener('click', () => actions.startCall());
    el.hangupBtn.addEventListener('click', () => actions.hangup());
    el.acceptBtn.addEventListener('click', () => actions.accept());
    el.joinCallBtn.addEventListener('click', () => actions.joinCall());
    el.declineBtn.addEventListener('click', () => actions.decline());
    el.muteBtn.addEventListener('click', () => actions.toggleMute());
    el.videoBtn.addEventListener('click', () => actions.toggleVideo());
    el.screenBtn.addEventListener('click', () => actions.toggleScreen());
    $('noticeClose').addEventListener('click', () => actions.dismissNotice());
    el.hostBtn.addEventListener('click', () => actions.host(el.nameInput.value, Number(el.sizeSelect.value)));
    el.stopHostBtn.addEventListener('click', () => actions.stopHosting());
    el.rejoinBtn.addEventListener('click', () => actions.rejoin());
    el.openBrowserBtn.addEventListener('click', () => actions.openInBrowser());
    el.openBrowserRoomBtn.addEventListener('click', () => actions.openInBrowser());
    el.copyInviteBtn.addEventListener('click', () => this.#copyInvite());
    el.testConnectionBtn.addEventListener('click', () => actions.testConnection());
    for (const [button, panel] of [[el.devicesBtn, el.devicesPanel], [el.statsBtn, el.statsPanel]]) {
      button.addEventListener('click', () => {
        const open = panel.hidden;
        if (open && panel === el.devicesPanel && !el.chatPanel.hidden) this.#showChat(false);
        show(panel, open);
        button.setAttribute('aria-expanded', String(open));
      });
    }
    el.chatBtn.addEventListener('click', () => this.#showChat(el.chatPanel.hidden));
    el.chatForm.addEventListener('submit', (e) => {
      e.preventDefault();
      if (actions.sendChat(el.chatInput.value)) el.chatInput.value = '';
    });
    el.fileInput.addEventListener('change', () => {
      actions.sendFiles([...(el.fileInput.files ?? [])], el.fileTo.value || null);
      el.fileInput.value = '';
    });
    // Files dropped on the call go as Send file does.
    el.stage.addEventListener('dragover', (e) => {
      if (!e.dataTransfer?.types.includes('Files')) return;
      e.preventDefault();
      el.stage.classList.add('dropping');
    });
    el.stage.addEventListener('dragleave', () => el.stage.classList.remove('dropping'));
    el.stage.addEventListener('drop', (e) => {
      el.stage.classList.remove('dropping');
      const files = [...(e.dataTransfer?.files ?? [])];
      if (!files.length) return;
      e.preventDefault();
      actions.sendFiles(files, el.fileTo.value || null);
    });
    el.transferList.addEventListener('click', (e) => {
      const button = /** @type {HTMLElement} */ (e.target).closest('button');
      const id = button?.closest('li')?.dataset.id;
      if (!button || !id) return;
      if (button.dataset.action === 'save') actions.acceptFile(id);
      else if (button.dataset.action === 'decline') actions.declineFile(id);
      else if (button.dataset.action === 'cancel') actions.cancelFile(id);
    });
    // Links in messages open through the controller (the system's browser in the app).
    el.chatLog.addEventListener('click', (e) => {
      const link = /** @type {HTMLElement} */ (e.target).closest('a');
      if (!link) return;
      e.preventDefault();
      actions.openLink(link.href);
    });
    el.cameraSelect.addEventListener('change', () => actions.chooseDevice('camera', el.cameraSelect.value));
    el.microphoneSelect.addEventListener('change', () => actions.chooseDevice('microphone', el.microphoneSelect.value));
    el.speakerSelect.addEventListener('change', () => actions.chooseDevice('speaker', el.speakerSelect.value));
    document.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape') return;
      if (!el.incoming.hidden) actions.decline();
      if (!el.chatPanel.hidden) {
        this.#showChat(false);
        el.chatBtn.focus();
      }
      for (const [button, panel] of [[el.devicesBtn, el.devicesPanel], [el.statsBtn, el.statsPanel]]) {
        if (!panel.hidden) {
          show(panel, false);
          button.setAttribute('aria-expanded', 'false');
          button.focus();
        }
      }
    });
  }

  /** Draws the view. @param {View} v */
  render(v) {
    const { el } = this;
    const prev = this.last;
    this.last = { ...v };
    const inRoom = v.screen === 'room';
    show(el.joinView, !inRoom);
    show(el.roomView, inRoom);
    show(el.roomInfo, inRoom);
    show(el.leaveBtn, inRoom);
    el.joinBtn.disabled = v.joining;
    el.joinBtn.textContent = v.joining ? 'Joining…' : 'Join';
    if (prev?.screen !== v.screen && !inRoom && prev) el.nameInput.focus();

    el.roomName.textContent = v.room;
    const other = v.peers[0];
    el.presence.textContent = other
      ? `${v.peers.map((p) => p.name).join(', ')} ${v.peers.length === 1 ? 'is' : 'are'} here`
      : 'Waiting for someone to join…';
    const inCall = ['connecting', 'connected', 'reconnecting'].includes(v.callState);
    const connectionText = {
      idle: '',
      connecting: 'Connecting…',
      joined: '',
      // The media goes peer to peer: a call needs the server only to start and to change.
      reconnecting: inCall ? 'Reconnecting to the server… Your call goes on.' : 'Reconnecting to the server…',
      closed: '',
    }[v.connection];
    el.connection.textContent = connectionText;
    show(el.connection, inRoom && connectionText !== '');
    // Away from the server, who is in the room is not known: "Waiting for someone" would be untrue.
    show(el.presence, v.connection !== 'reconnecting');

    // Messages.
    show(el.notice, v.notice !== null);
    if (v.notice) {
      el.noticeText.textContent = v.notice.text;
      el.notice.dataset.tone = v.notice.tone;
    }

    // The self-view.
    // The self-view shows what is sent: the shared screen, or the camera.
    const hasLocalVideo = v.sharing || (!!v.localStream && v.localStream.getVideoTracks().length > 0 && !v.videoOff);
    el.localVideo.classList.toggle('off', !hasLocalVideo);
    el.localVideo.classList.toggle('screen', v.sharing);
    this.showStream(el.localVideo, v.sharing ? v.screenPreview : v.localStream);
    show(el.selfOff, inRoom && !hasLocalVideo);
    el.selfOff.textContent = v.localStream ? 'Camera off' : v.cameraStarting ? 'Starting camera…' : 'Camera not started';

    // A tile per person in the call: the first in the main tile (the tutorial's remoteVideo).
    const ringing = v.callState === 'outgoing' || v.callState === 'incoming';
    const shown = inCall ? v.tiles.filter((t) => t.state !== 'outgoing' && t.state !== 'idle') : [];
    const grid = shown.length > 1;
    el.stage.classList.toggle('grid', grid);
    // Columns for the tiles and the self-view: 2×2 for four, 3×2 for five or six.
    el.stage.style.setProperty('--columns', String(Math.ceil(Math.sqrt(shown.length + 1))));
    const [main, ...more] = shown;
    if (main) {
      this.tiles.renderMain(main, grid);
    } else {
      el.remoteVideo.classList.remove('live');
      this.showStream(el.remoteVideo, null);
      show(el.placeholder, true);
      show(el.remoteMuted, false);
      show(el.remoteStatus, false);
      show(el.remotePath, false);
      show(el.mainTileName, false);
      el.mainTile.classList.remove('speaking');
      const shownName = v.otherName || other?.name || '';
      el.remoteAvatar.textContent = initials(shownName);
      show(el.remoteAvatar, shownName !== '');
      el.placeholderText.textContent = inCall || ringing
        ? v.callLabel
        : other ? `${other.name} is here. Press Call to ring them.` : 'When someone joins this room, you can call them.';
    }
    this.tiles.renderMore(more, grid);
    el.presence.classList.toggle('waiting', !other);
    el.callState.textContent = v.callLabel;
    el.callState.dataset.state = v.callState;
    show(el.joinCallBar, inRoom && !!v.joinable && !inCall && !ringing);
    if (v.joinable) el.joinCallText.textContent = `Call with ${listNames(v.joinable.names)}`;

    // Controls.
    show(el.startBtn, !v.localStream);
    el.callBtn.disabled = !other || !v.webrtc;
    // In a call, Call becomes "Ring Dan" for whoever in the room is not in it.
    show(el.callBtn, (!inCall && !ringing && !v.joinable) || (inCall && v.ringable.length > 0));
    el.callBtn.textContent = inCall ? `Ring ${listNames(v.ringable)}` : 'Call';
    show(el.hangupBtn, inCall || v.callState === 'outgoing');
    el.hangupBtn.textContent = v.callState === 'outgoing' ? 'Cancel' : 'Hang Up';
    const hasAudio = !!v.localStream?.getAudioTracks().length;
    el.muteBtn.disabled = !hasAudio;
    el.muteBtn.textContent = v.muted ? 'Unmute' : 'Mute';
    el.muteBtn.setAttribute('aria-pressed', String(v.muted));
    el.videoBtn.disabled = !v.localStream;
    el.videoBtn.textContent = v.videoOff ? 'Start Video' : 'Stop Video';
    el.videoBtn.setAttribute('aria-pressed', String(v.videoOff));
    show(el.screenBtn, inCall && v.canShareScreen);
    el.screenBtn.textContent = v.sharing ? 'Stop Sharing' : 'Share Screen';
    el.screenBtn.setAttribute('aria-pressed', String(v.sharing));

    // Incoming call.
    const wasIncoming = prev?.callState === 'incoming';
    show(el.incoming, v.callState === 'incoming');
    el.callerName.textContent = v.otherName;
    el.callerAvatar.textContent = initials(v.otherName);
    if (v.callState === 'incoming' && !wasIncoming) el.acceptBtn.focus();
    if (prev && inCall && !['connecting', 'connected', 'reconnecting'].includes(prev.callState)) el.hangupBtn.focus();
    if (prev && ACTIVE_STATES.includes(prev.callState) && !ACTIVE_STATES.includes(v.callState) && inRoom) {
      (v.joinable ? el.joinCallBtn : el.callBtn.disabled ? el.leaveBtn : el.callBtn).focus();
    }

    // Host mode.
    show(el.hostPanel, !!v.hosting);
    if (v.hosting) {
      el.hostAddresses.textContent = v.hosting.addresses.join('  ·  ') || 'this computer has no network address';
      el.hostRoom.textContent = v.hosting.room;
      el.hostSize.textContent = `Up to ${v.hosting.maxPeople} people`;
      el.copyInviteBtn.dataset.invite = v.hosting.invite;
    }
    show(el.openBrowserBtn, v.desktop && !v.webrtc && !inRoom);
    show(el.openBrowserRoomBtn, inRoom && v.desktop && !v.webrtc);
    show(el.rejoinBtn, !!v.hosting && !inRoom && !v.joining);
    el.hostBtn.disabled = !!v.hosting || v.busy !== '';
    el.sizeSelect.disabled = !!v.hosting;
    el.hostBtn.textContent = v.busy || (v.hosting ? 'Hosting' : 'Host a call');
    const recentKey = v.recentServers.join('|');
    if (el.recentServers.dataset.key !== recentKey) {
      el.recentServers.replaceChildren(...v.recentServers.map((s) => new Option(s)));
      el.recentServers.dataset.key = recentKey;
    }

    // Devices and stats.
    this.#fillSelect(el.cameraSelect, v.devices.cameras, v.chosen.camera);
    this.#fillSelect(el.microphoneSelect, v.devices.microphones, v.chosen.microphone);
    this.#fillSelect(el.speakerSelect, v.devices.speakers, v.chosen.speaker);
    show(el.speakerField, v.canChooseSpeaker && v.devices.speakers.length > 0);
    if (v.canChooseSpeaker && v.chosen.speaker && prev?.chosen.speaker !== v.chosen.speaker) {
      /** @type {any} */ (el.remoteVideo).setSinkId?.(v.chosen.speaker).catch(() => {});
    }
    this.#fillStats(v.stats);
    this.#fillConnectionTest(v.connectionTest);
    this.#renderChat(v.chat);
    this.#renderTransfers(v);
  }

  /** The files sent and received, and whom Send file sends to. @param {View} v */
  #renderTransfers(v) {
    const { el } = this;
    const choices = [{ id: '', name: 'everyone' }, ...v.fileRecipients];
    const key = choices.map((c) => `${c.id}:${c.name}`).join('|');
    if (el.fileTo.dataset.key !== key) {
      const chosen = el.fileTo.value;
      el.fileTo.replaceChildren(...choices.map((c) => new Option(c.name, c.id)));
      el.fileTo.dataset.key = key;
      if (choices.some((c) => c.id === chosen)) el.fileTo.value = chosen;
    }
    // In a call of two, "everyone" is the one other person.
    show(el.fileTo, v.fileRecipients.length > 1);
    show(el.fileToLabel, v.fileRecipients.length > 1);
    const items = new Map([...el.transferList.children].map((item) => [/** @type {HTMLElement} */ (item).dataset.id, /** @type {HTMLElement} */ (item)]));
    for (const [id, item] of items) if (!v.transfers.some((t) => t.id === id)) item.remove();
    for (const t of v.transfers) {
      let item = items.get(t.id);
      if (!item) {
        item = document.createElement('li');
        item.dataset.id = t.id;
        el.transferList.append(item);
      }
      const drawn = `${t.state}|${t.done}|${t.reason}|${Math.round(t.bytesPerSecond / 1e5)}`;
      if (item.dataset.drawn === drawn) continue;
      item.dataset.drawn = drawn;
      // Progress changes the words and the bar in place; the buttons are made again only when
      // the state changes, so one under a pointer or with the focus is never replaced mid-click.
      const parts = transferParts(t);
      if (item.dataset.state !== t.state) {
        item.dataset.state = t.state;
        item.replaceChildren(...parts);
      } else {
        for (const part of parts) {
          const same = [...item.children].find((c) => c.tagName === part.tagName && c.className === part.className);
          if (!same) item.append(part);
          else if (part instanceof HTMLProgressElement && same instanceof HTMLProgressElement) {
            same.max = part.max;
            same.value = part.value;
            same.setAttribute('aria-label', part.getAttribute('aria-label') ?? '');
          } else if (part.className !== 'actions') same.textContent = part.textContent;
        }
      }
      if (t.state === 'verified' && t.direction === 'in' && t.saved instanceof Blob && !this.downloaded.has(t.id)) {
        this.downloaded.add(t.id);
        download(t.saved, t.name);
      }
    }
  }

  /** Opens or closes the chat panel; opened, the box takes the focus. @param {boolean} open */
  #showChat(open) {
    const { el } = this;
    if (open && !el.devicesPanel.hidden) el.devicesBtn.click();
    show(el.chatPanel, open);
    el.chatBtn.setAttribute('aria-expanded', String(open));
    this.actions.setChatOpen(open);
    if (open) el.chatInput.focus();
  }

  /** @param {View['chat']} chat */
  #renderChat(chat) {
    const { el } = this;
    show(el.chatUnread, chat.unread > 0);
    el.chatUnread.textContent = chat.unread ? String(chat.unread) : '';
    el.chatBtn.setAttribute('aria-label', chat.unread ? `Chat, ${chat.unread} unread` : 'Chat');
    show(el.chatError, !!chat.error);
    el.chatError.textContent = chat.error ?? '';
    // Messages come at the end and leave from the start (or all at once): draw only what changed.
    const keys = new Set(chat.messages.map(messageKey));
    for (const item of [...el.chatList.children]) if (!keys.has(/** @type {HTMLElement} */ (item).dataset.key ?? '')) item.remove();
    const drawn = new Set([...el.chatList.children].map((item) => /** @type {HTMLElement} */ (item).dataset.key));
    const atEnd = el.chatLog.scrollTop + el.chatLog.clientHeight >= el.chatLog.scrollHeight - 8;
    for (const m of chat.messages) if (!drawn.has(messageKey(m))) el.chatList.append(messageItem(m));
    if (atEnd) el.chatLog.scrollTop = el.chatLog.scrollHeight;
  }

  /** Copies the host's invitation and says so on the button. */
  async #copyInvite() {
    const button = this.el.copyInviteBtn;
    const text = button.dataset.invite ?? '';
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Some webviews refuse the async clipboard; the old way still works there.
      const area = document.createElement('textarea');
      area.value = text;
      document.body.append(area);
      area.select();
      document.execCommand('copy');
      area.remove();
    }
    button.textContent = 'Copied';
    setTimeout(() => { button.textContent = 'Copy invite'; }, 2000);
  }

  /**
   * @param {HTMLSelectElement} select
   * @param {{deviceId: string, label: string}[]} choices
   * @param {string} chosen
   */
  #fillSelect(select, choices, chosen) {
    const key = choices.map((c) => `${c.deviceId}:${c.label}`).join('|');
    if (select.dataset.key !== key) {
      select.replaceChildren(...choices.map((c) => new Option(c.label, c.deviceId)));
      select.dataset.key = key;
    }
    select.disabled = choices.length === 0;
    if (chosen && choices.some((c) => c.deviceId === chosen)) select.value = chosen;
  }

  /** @param {View['stats']} stats */
  #fillStats(stats) {
    if (!stats?.length) {
      this.el.statsList.replaceChildren(definitions([['Status', 'Not in a call']]));
      return;
    }
    this.el.statsList.replaceChildren(...stats.flatMap(({ name, rows }) => {
      if (stats.length === 1) return [definitions(rows)];
      const heading = document.createElement('h3');
      heading.textContent = name;
      return [heading, definitions(rows)];
    }));
  }

  /** @param {View['connectionTest']} test */
  #fillConnectionTest(test) {
    const { el } = this;
    el.testConnectionBtn.disabled = test?.state === 'testing';
    el.testConnectionBtn.textContent = test?.state === 'testing' ? 'Testing…' : test ? 'Test again' : 'Test connection';
    const key = JSON.stringify(test);
    if (el.connectionTest.dataset.key === key) return;
    el.connectionTest.dataset.key = key;
    if (!test || test.state === 'testing') {
      el.connectionTest.replaceChildren();
      return;
    }
    const verdict = document.createElement('p');
    verdict.className = 'verdict';
    verdict.textContent = test.verdict;
    el.connectionTest.replaceChildren(definitions(test.rows), verdict);
  }

}

/** Hands a received file to the browser's downloads. @param {Blob} blob @param {string} name */
function download(blob, name) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
}

/** What a transfer shows: the file, its state, progress, and what can be done. @param {import('./files.js').TransferView} t */
function transferParts(t) {
  const title = document.createElement('p');
  title.textContent = `${t.name} (${sizeText(t.size)}) ${t.direction === 'in' ? 'from' : 'to'} ${t.peerName}`;
  const state = document.createElement('p');
  state.className = `state ${t.state}`;
  const active = t.state === 'sending' || t.state === 'receiving';
  const left = t.bytesPerSecond > 0 ? Math.ceil((t.size - t.done) / t.bytesPerSecond) : null;
  state.textContent = {
    hashing: 'Getting it ready…',
    offered: t.direction === 'in' ? 'Wants to send you this file' : `Waiting for ${t.peerName} to accept`,
    sending: `Sending · ${progressText(t, left)}`,
    receiving: `Receiving · ${progressText(t, left)}`,
    verified: t.direction === 'in' ? (typeof t.saved === 'string' ? `Saved to ${t.saved} · verified` : 'Saved · verified') : `${t.peerName} has it · verified`,
    failed: `Failed: ${t.reason ?? 'unknown reason'}`,
    declined: t.direction === 'in' ? 'Declined' : `${t.reason ?? 'Declined'}`,
    cancelled: `Cancelled · ${t.reason ?? ''}`,
  }[t.state];
  /** @type {HTMLElement[]} */
  const parts = [title, state];
  if (active || t.state === 'verified') {
    const bar = document.createElement('progress');
    bar.max = t.size || 1;
    bar.value = t.state === 'verified' ? bar.max : t.done;
    bar.setAttribute('aria-label', `${t.name}: ${Math.floor((t.done / (t.size || 1)) * 100)}%`);
    parts.push(bar);
  }
  const actions = document.createElement('div');
  actions.className = 'actions';
  const button = (/** @type {string} */ text, /** @type {string} */ action, /** @type {string} */ label) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = text;
    b.dataset.action = action;
    b.setAttribute('aria-label', label);
    actions.append(b);
  };
  if (t.state === 'offered' && t.direction === 'in') {
    button('Save', 'save', `Save ${t.name}`);
    button('Decline', 'decline', `Decline ${t.name}`);
  } else if (['hashing', 'offered', 'sending', 'receiving'].includes(t.state)) {
    button('Cancel', 'cancel', `Cancel ${t.name}`);
  }
  if (actions.children.length) parts.push(actions);
  return parts;
}

/** "12.5 MB of 200 MB · 31 MB/s · 6 s left" @param {import('./files.js').TransferView} t @param {number | null} left */
function progressText(t, left) {
  const rate = t.bytesPerSecond > 0 ? ` · ${sizeText(Math.round(t.bytesPerSecond))}/s` : '';
  const eta = left !== null ? ` · ${left < 60 ? `${left} s` : `${Math.ceil(left / 60)} min`} left` : '';
  return `${sizeText(t.done)} of ${sizeText(t.size)}${rate}${eta}`;
}

/** @param {import('./chat.js').ChatMessage} m */
const messageKey = (m) => `${m.from}:${m.id}`;

/** One chat message: who, when, and its text with links as links (never markup). @param {import('./chat.js').ChatMessage} m */
function messageItem(m) {
  const item = document.createElement('li');
  item.dataset.key = messageKey(m);
  if (m.mine) item.className = 'mine';
  const meta = document.createElement('p');
  meta.className = 'meta';
  const who = document.createElement('strong');
  who.textContent = m.mine ? 'You' : m.name;
  const when = document.createElement('time');
  const at = new Date(m.at);
  when.dateTime = at.toISOString();
  when.textContent = at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  meta.append(who, ' · ', when);
  const text = document.createElement('p');
  text.className = 'text';
  for (const part of segments(m.text)) {
    if ('link' in part) {
      const a = document.createElement('a');
      a.href = part.link;
      a.textContent = part.link;
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
      text.append(a);
    } else {
      text.append(part.text);
    }
  }
  item.append(meta, text);
  return item;
}

/** A label/value list. @param {string[][]} rows */
function definitions(rows) {
  const list = document.createElement('dl');
  list.replaceChildren(...rows.flatMap(([label, value]) => {
    const dt = document.createElement('dt');
    dt.textContent = label;
    const dd = document.createElement('dd');
    dd.textContent = value;
    return [dt, dd];
  }));
  return list;
}

const ACTIVE_STATES = ['outgoing', 'incoming', 'connecting', 'connected', 'reconnecting'];
