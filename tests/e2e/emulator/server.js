#!/usr/bin/env node
'use strict';
/*
 * Puente's local Telegram Bot API emulator (no dependencies, plain `http`).
 *
 *   node server.js --port 0            -> prints "EMULATOR READY http://127.0.0.1:<port>"
 *   node server.js --port 8081 --keep-alive   (do not exit when stdin closes)
 *
 * Bot API:      /bot<token>/<method>        (GET or POST; JSON, urlencoded or multipart)
 * Files:        /file/bot<token>/<file_path>
 * Test control: /_test/...                  (see README.md)
 */

const http = require('http');
const crypto = require('crypto');
const { URL } = require('url');

// ---------------------------------------------------------------- utilities

const BOT_USERNAME = 'puente_test_bot';
const BOT_FIRST_NAME = 'Puente';

const now = () => Math.floor(Date.now() / 1000);
const clone = (o) => (o === undefined ? undefined : JSON.parse(JSON.stringify(o)));
const byteOffset = (s, i) => Buffer.byteLength(s.slice(0, i), 'utf8');

class ApiError extends Error {
  constructor(code, description, parameters) {
    super(description);
    this.code = code;
    this.description = description;
    this.parameters = parameters;
  }
}
const bad = (msg) => new ApiError(400, `Bad Request: ${msg}`);

function stableStringify(v) {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return '[' + v.map(stableStringify).join(',') + ']';
  return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + stableStringify(v[k])).join(',') + '}';
}

function botIdFromToken(token) {
  const prefix = String(token).split(':')[0];
  if (/^\d{1,15}$/.test(prefix)) return parseInt(prefix, 10);
  const h = crypto.createHash('sha1').update(prefix).digest();
  return 1000000000 + (h.readUInt32BE(0) % 1000000000);
}

// ---------------------------------------------------------------- state

let bots = new Map(); // token -> bot state
let faults = [];
let fileCounter = 0;

function getBot(token) {
  let bot = bots.get(token);
  if (!bot) {
    const id = botIdFromToken(token);
    bot = {
      token,
      id,
      user: { id, is_bot: true, first_name: BOT_FIRST_NAME, username: BOT_USERNAME },
      privacyMode: true,
      updates: [],
      nextUpdateId: 1,
      waiters: [],
      chats: new Map(),
      users: new Map(),
      calls: [],
      commands: new Map(),
      webhook: null,
      menuButtons: new Map(),
      callbackQueries: new Map(),
      nextCallbackId: 1,
      files: new Map(),
    };
    bots.set(token, bot);
  }
  return bot;
}

function chatKey(id) {
  return String(id);
}

function ensureChat(bot, spec) {
  const key = chatKey(spec.id);
  let chat = bot.chats.get(key);
  if (!chat) {
    const type = spec.type || (Number(spec.id) < 0 ? 'supergroup' : 'private');
    const obj = { id: Number(spec.id), type };
    if (type === 'private') {
      obj.first_name = spec.first_name || 'User';
      if (spec.last_name) obj.last_name = spec.last_name;
      if (spec.username) obj.username = spec.username;
    } else {
      obj.title = spec.title || 'Test group';
      if (spec.username) obj.username = spec.username;
    }
    chat = { obj, messages: [], nextMessageId: 1 };
    bot.chats.set(key, chat);
  }
  return chat;
}

function requireChat(bot, chatId) {
  if (chatId === undefined || chatId === null || chatId === '') throw bad('chat_id is empty');
  let chat = bot.chats.get(chatKey(chatId));
  if (!chat && typeof chatId === 'string' && chatId.startsWith('@')) {
    for (const c of bot.chats.values()) {
      if (c.obj.username && '@' + c.obj.username.toLowerCase() === chatId.toLowerCase()) chat = c;
    }
  }
  if (!chat) throw bad('chat not found');
  return chat;
}

function findMessage(chat, messageId) {
  return chat.messages.find((m) => m.message_id === Number(messageId));
}

function enqueueUpdate(bot, payload) {
  const update = Object.assign({ update_id: bot.nextUpdateId++ }, payload);
  bot.updates.push(update);
  wakeWaiters(bot);
  return update;
}

// ---------------------------------------------------------------- files

function registerFile(bot, info) {
  fileCounter += 1;
  const fileId = info.file_id || `EMU${fileCounter}_${crypto.randomBytes(6).toString('hex')}`;
  if (bot.files.has(fileId)) return bot.files.get(fileId);
  const content = info.content || null;
  const rec = {
    file_id: fileId,
    file_unique_id: info.file_unique_id || `U${fileCounter}${crypto.randomBytes(3).toString('hex')}`,
    file_size: info.file_size !== undefined ? info.file_size : content ? content.length : 0,
    file_name: info.file_name,
    mime_type: info.mime_type,
    file_path: `${info.kind || 'documents'}/file_${fileCounter}${extFor(info.file_name, info.mime_type)}`,
    content,
  };
  bot.files.set(fileId, rec);
  return rec;
}

function extFor(name, mime) {
  if (name && /\.[A-Za-z0-9]{1,8}$/.test(name)) return name.slice(name.lastIndexOf('.'));
  const map = { 'image/jpeg': '.jpg', 'image/png': '.png', 'audio/ogg': '.oga', 'application/pdf': '.pdf' };
  return map[mime] || '';
}

// Register every file_id found in user-provided message fields, so the bot can getFile/resend them.
function registerFileIds(bot, value) {
  if (Array.isArray(value)) return value.forEach((v) => registerFileIds(bot, v));
  if (value && typeof value === 'object') {
    if (typeof value.file_id === 'string' && !bot.files.has(value.file_id)) {
      registerFile(bot, {
        file_id: value.file_id,
        file_unique_id: value.file_unique_id,
        file_size: value.file_size,
        file_name: value.file_name,
        mime_type: value.mime_type,
      });
    }
    for (const v of Object.values(value)) registerFileIds(bot, v);
  }
}

// Resolve an InputFile parameter: uploaded file, attach://name, known file_id or URL.
function resolveInputFile(bot, value, parts, kind, field) {
  if (value === undefined || value === null || value === '') throw bad(`there is no ${field} in the request`);
  if (typeof value === 'string' && value.startsWith('attach://')) {
    const part = parts && parts[value.slice('attach://'.length)];
    if (!part || !part.isFile) throw bad(`wrong file identifier/HTTP URL specified`);
    value = part;
  }
  if (value && value.isFile) {
    return registerFile(bot, { content: value.data, file_name: value.filename, mime_type: value.contentType, kind });
  }
  if (typeof value === 'string') {
    if (bot.files.has(value)) return bot.files.get(value);
    if (/^https?:\/\//i.test(value)) {
      const name = value.split('/').pop().split('?')[0] || 'file';
      return registerFile(bot, { file_name: name, kind, file_size: 1024 });
    }
  }
  throw bad('wrong file identifier/HTTP URL specified');
}

// ---------------------------------------------------------------- entity parsing

const HTML_TAGS = new Set([
  'b', 'strong', 'i', 'em', 'u', 'ins', 's', 'strike', 'del', 'span', 'tg-spoiler', 'a', 'code', 'pre',
  'blockquote', 'tg-emoji',
]);
const HTML_ENTITY_TYPE = {
  b: 'bold', strong: 'bold', i: 'italic', em: 'italic', u: 'underline', ins: 'underline',
  s: 'strikethrough', strike: 'strikethrough', del: 'strikethrough', span: 'spoiler', 'tg-spoiler': 'spoiler',
  a: 'text_link', code: 'code', pre: 'pre', blockquote: 'blockquote', 'tg-emoji': 'custom_emoji',
};

function decodeHtmlEntity(src, i) {
  // src[i] === '&'; returns [decodedString, nextIndex] or null
  const m = /^&(#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|lt|gt|amp|quot);/.exec(src.slice(i, i + 12));
  if (!m) return null;
  const name = m[1];
  let out;
  if (name === 'lt') out = '<';
  else if (name === 'gt') out = '>';
  else if (name === 'amp') out = '&';
  else if (name === 'quot') out = '"';
  else {
    const cp = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
    if (!(cp > 0 && cp <= 0x10ffff) || (cp >= 0xd800 && cp <= 0xdfff)) return null;
    out = String.fromCodePoint(cp);
  }
  return [out, i + m[0].length];
}

function parseAttributes(s, tagStartByte) {
  const attrs = {};
  let i = 0;
  while (i < s.length) {
    while (i < s.length && /\s/.test(s[i])) i++;
    if (i >= s.length) break;
    const m = /^[A-Za-z_:][-A-Za-z0-9_:.]*/.exec(s.slice(i));
    if (!m) throw new Error(`Expected equal sign in declaration of an attribute of the tag at byte offset ${tagStartByte}`);
    const name = m[0].toLowerCase();
    i += m[0].length;
    while (i < s.length && /\s/.test(s[i])) i++;
    if (s[i] !== '=') {
      attrs[name] = '';
      continue;
    }
    i++;
    while (i < s.length && /\s/.test(s[i])) i++;
    let value;
    if (s[i] === '"' || s[i] === "'") {
      const q = s[i];
      const end = s.indexOf(q, i + 1);
      if (end < 0) throw new Error(`Unclosed start tag at byte offset ${tagStartByte}`);
      value = s.slice(i + 1, end);
      i = end + 1;
    } else {
      const mm = /^[^\s]*/.exec(s.slice(i));
      value = mm[0];
      i += value.length;
    }
    attrs[name] = value.replace(/&(lt|gt|amp|quot);/g, (x, n) => ({ lt: '<', gt: '>', amp: '&', quot: '"' }[n]));
  }
  return attrs;
}

function parseHtml(src) {
  let out = '';
  const stack = [];
  const entities = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i];
    if (ch === '&') {
      const d = decodeHtmlEntity(src, i);
      if (d) {
        out += d[0];
        i = d[1];
      } else {
        out += '&';
        i++;
      }
      continue;
    }
    if (ch !== '<') {
      out += ch;
      i++;
      continue;
    }
    const tagStart = i;
    const tagByte = byteOffset(src, tagStart);
    const close = src.indexOf('>', i);
    if (close < 0) throw new Error(`Unclosed start tag at byte offset ${tagByte}`);
    const inner = src.slice(i + 1, close);
    if (inner.startsWith('/')) {
      const name = inner.slice(1).trim().toLowerCase();
      if (!stack.length) throw new Error(`Unexpected end tag at byte offset ${tagByte}`);
      const top = stack[stack.length - 1];
      if (name !== top.name) {
        throw new Error(`Unmatched end tag at byte offset ${tagByte}, expected "</${top.name}>", found "</${name}>"`);
      }
      stack.pop();
      const length = out.length - top.offset;
      if (length > 0 && top.entity) {
        const e = Object.assign({ type: top.entity.type, offset: top.offset, length }, top.entity.extra);
        entities.push(e);
      }
      i = close + 1;
      continue;
    }
    const m = /^([A-Za-z][-A-Za-z0-9]*)([\s\S]*)$/.exec(inner);
    if (!m) throw new Error(`Unsupported start tag "${inner.split(/\s/)[0]}" at byte offset ${tagByte}`);
    const name = m[1].toLowerCase();
    if (!HTML_TAGS.has(name)) throw new Error(`Unsupported start tag "${name}" at byte offset ${tagByte}`);
    let attrText = m[2];
    if (attrText.trim().endsWith('/')) throw new Error(`Unsupported start tag "${name}" at byte offset ${tagByte}`);
    const attrs = parseAttributes(attrText, tagByte);
    let entity = { type: HTML_ENTITY_TYPE[name], extra: {} };
    if (name === 'span') {
      if (attrs.class !== 'tg-spoiler') throw new Error(`Tag "span" must have class "tg-spoiler" at byte offset ${tagByte}`);
    } else if (name === 'a') {
      const href = attrs.href;
      if (href === undefined || href === '') entity = null;
      else {
        const um = /^tg:\/\/user\?id=(\d+)$/.exec(href);
        if (um) entity = { type: 'text_mention', extra: { user: { id: Number(um[1]), is_bot: false, first_name: 'User' } } };
        else entity.extra.url = href;
      }
    } else if (name === 'tg-emoji') {
      if (!attrs['emoji-id']) throw new Error(`Tag "tg-emoji" must have attribute "emoji-id" at byte offset ${tagByte}`);
      entity.extra.custom_emoji_id = attrs['emoji-id'];
    } else if (name === 'code' && stack.length && stack[stack.length - 1].name === 'pre') {
      const lang = /^language-(.+)$/.exec(attrs.class || '');
      if (lang) {
        const pre = stack[stack.length - 1];
        if (pre.entity) pre.entity.extra.language = lang[1];
        entity = null; // code inside pre merges into the pre entity
      }
    } else if (name === 'blockquote' && 'expandable' in attrs) {
      entity.type = 'expandable_blockquote';
    }
    stack.push({ name, offset: out.length, entity, byte: tagByte });
    i = close + 1;
  }
  if (stack.length) {
    throw new Error(`Can't find end tag corresponding to start tag "${stack[stack.length - 1].name}"`);
  }
  entities.sort((a, b) => a.offset - b.offset || b.length - a.length);
  return { text: out, entities };
}

const MDV2_RESERVED = '_*[]()~`>#+-=|{}.!';

function parseMarkdownV2(src) {
  let out = '';
  const entities = [];
  const open = []; // {kind, offset, byte}
  const names = { '*': 'Bold', _: 'Italic', __: 'Underline', '~': 'Strikethrough', '||': 'Spoiler' };
  const types = { '*': 'bold', _: 'italic', __: 'underline', '~': 'strikethrough', '||': 'spoiler' };
  let i = 0;
  let linkOpen = null;
  const toggle = (kind, at) => {
    const idx = open.map((o) => o.kind).lastIndexOf(kind);
    if (idx >= 0) {
      const o = open.splice(idx, 1)[0];
      if (out.length > o.offset) entities.push({ type: types[kind], offset: o.offset, length: out.length - o.offset });
    } else open.push({ kind, offset: out.length, byte: byteOffset(src, at) });
  };
  while (i < src.length) {
    const ch = src[i];
    if (ch === '\\') {
      if (i + 1 < src.length) {
        out += src[i + 1];
        i += 2;
      } else throw new Error(`Character '\\' is reserved and must be escaped with the preceding '\\'`);
      continue;
    }
    if (src.startsWith('```', i)) {
      const startByte = byteOffset(src, i);
      let j = i + 3;
      let lang = '';
      const nl = src.indexOf('\n', j);
      const endFence = src.indexOf('```', j);
      if (nl >= 0 && (endFence < 0 || nl < endFence)) {
        lang = src.slice(j, nl).trim();
        if (!/\s/.test(lang)) j = nl + 1;
        else lang = '';
      }
      const begin = out.length;
      let found = false;
      while (j < src.length) {
        if (src[j] === '\\' && j + 1 < src.length) {
          out += src[j + 1];
          j += 2;
          continue;
        }
        if (src.startsWith('```', j)) {
          found = true;
          j += 3;
          break;
        }
        out += src[j++];
      }
      if (!found) throw new Error(`Can't find end of Pre entity at byte offset ${startByte}`);
      if (out.length > begin) {
        const e = { type: 'pre', offset: begin, length: out.length - begin };
        if (lang) e.language = lang;
        entities.push(e);
      }
      i = j;
      continue;
    }
    if (ch === '`') {
      const startByte = byteOffset(src, i);
      let j = i + 1;
      const begin = out.length;
      let found = false;
      while (j < src.length) {
        if (src[j] === '\\' && j + 1 < src.length) {
          out += src[j + 1];
          j += 2;
          continue;
        }
        if (src[j] === '`') {
          found = true;
          j++;
          break;
        }
        out += src[j++];
      }
      if (!found) throw new Error(`Can't find end of Code entity at byte offset ${startByte}`);
      if (out.length > begin) entities.push({ type: 'code', offset: begin, length: out.length - begin });
      i = j;
      continue;
    }
    if (src.startsWith('__', i)) {
      toggle('__', i);
      i += 2;
      continue;
    }
    if (src.startsWith('||', i)) {
      toggle('||', i);
      i += 2;
      continue;
    }
    if (ch === '*' || ch === '_' || ch === '~') {
      toggle(ch, i);
      i++;
      continue;
    }
    if (ch === '[' && !linkOpen) {
      linkOpen = { offset: out.length, byte: byteOffset(src, i) };
      i++;
      continue;
    }
    if (ch === ']' && linkOpen) {
      if (src[i + 1] !== '(') throw new Error(`Can't find end of TextUrl entity at byte offset ${linkOpen.byte}`);
      let j = i + 2;
      let url = '';
      while (j < src.length && src[j] !== ')') {
        if (src[j] === '\\' && j + 1 < src.length) {
          url += src[j + 1];
          j += 2;
        } else url += src[j++];
      }
      if (j >= src.length) throw new Error(`Can't find end of a URL at byte offset ${byteOffset(src, i + 2)}`);
      if (out.length > linkOpen.offset) entities.push({ type: 'text_link', offset: linkOpen.offset, length: out.length - linkOpen.offset, url });
      linkOpen = null;
      i = j + 1;
      continue;
    }
    if (ch === '>' && (i === 0 || src[i - 1] === '\n')) {
      // blockquote marker: accepted, no entity emitted by this emulator
      i++;
      continue;
    }
    if (MDV2_RESERVED.includes(ch)) {
      throw new Error(`Character '${ch}' is reserved and must be escaped with the preceding '\\'`);
    }
    out += ch;
    i++;
  }
  if (linkOpen) throw new Error(`Can't find end of TextUrl entity at byte offset ${linkOpen.byte}`);
  if (open.length) {
    const o = open[0];
    throw new Error(`Can't find end of ${names[o.kind]} entity at byte offset ${o.byte}`);
  }
  entities.sort((a, b) => a.offset - b.offset || b.length - a.length);
  return { text: out, entities };
}

function parseMarkdownLegacy(src) {
  let out = '';
  const entities = [];
  let i = 0;
  const types = { '*': 'bold', _: 'italic' };
  while (i < src.length) {
    const ch = src[i];
    if (ch === '\\' && i + 1 < src.length && '*_`['.includes(src[i + 1])) {
      out += src[i + 1];
      i += 2;
      continue;
    }
    if (ch === '*' || ch === '_' || ch === '`') {
      const startByte = byteOffset(src, i);
      const fence = ch === '`' && src.startsWith('```', i) ? '```' : ch;
      const end = src.indexOf(fence, i + fence.length);
      if (end < 0) throw new Error(`Can't find end of the entity starting at byte offset ${startByte}`);
      let content = src.slice(i + fence.length, end);
      let type = fence === '```' ? 'pre' : ch === '`' ? 'code' : types[ch];
      const begin = out.length;
      out += content;
      if (content.length) entities.push({ type, offset: begin, length: content.length });
      i = end + fence.length;
      continue;
    }
    if (ch === '[') {
      const startByte = byteOffset(src, i);
      const close = src.indexOf('](', i);
      const end = close >= 0 ? src.indexOf(')', close) : -1;
      if (close < 0 || end < 0) throw new Error(`Can't find end of the entity starting at byte offset ${startByte}`);
      const text = src.slice(i + 1, close);
      const begin = out.length;
      out += text;
      if (text.length) entities.push({ type: 'text_link', offset: begin, length: text.length, url: src.slice(close + 2, end) });
      i = end + 1;
      continue;
    }
    out += ch;
    i++;
  }
  return { text: out, entities };
}

function parseFormatted(text, parseMode, explicitEntities) {
  if (parseMode === undefined || parseMode === null || parseMode === '') {
    return { text, entities: Array.isArray(explicitEntities) ? explicitEntities : [] };
  }
  const mode = String(parseMode).toLowerCase();
  try {
    if (mode === 'html') return parseHtml(text);
    if (mode === 'markdownv2') return parseMarkdownV2(text);
    if (mode === 'markdown') return parseMarkdownLegacy(text);
  } catch (e) {
    throw bad(`can't parse entities: ${e.message}`);
  }
  throw bad('unsupported parse_mode');
}

// Automatic entities for user-sent text (what Telegram clients/servers detect).
function autoEntities(text) {
  const entities = [];
  let m;
  const cmd = /(^|[\s])(\/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?)(?=$|[\s.,!?;:])/g;
  while ((m = cmd.exec(text))) entities.push({ type: 'bot_command', offset: m.index + m[1].length, length: m[2].length });
  const mention = /(^|[^A-Za-z0-9_/@])(@[A-Za-z][A-Za-z0-9_]{3,31})(?![A-Za-z0-9_])/g;
  while ((m = mention.exec(text))) entities.push({ type: 'mention', offset: m.index + m[1].length, length: m[2].length });
  const url = /https?:\/\/[^\s<>"]+[^\s<>".,!?;:)\]]/g;
  while ((m = url.exec(text))) entities.push({ type: 'url', offset: m.index, length: m[0].length });
  // drop mentions inside commands (/cmd@bot) and inside urls
  const filtered = entities.filter(
    (e) => !entities.some((o) => o !== e && o.type !== e.type && o.offset <= e.offset && o.offset + o.length >= e.offset + e.length && o.length > e.length),
  );
  filtered.sort((a, b) => a.offset - b.offset);
  return filtered;
}

// ---------------------------------------------------------------- markup

function normalizeMarkup(markup) {
  if (markup === undefined || markup === null || markup === '') return { inline: undefined, other: undefined };
  if (typeof markup !== 'object') throw bad("can't parse reply keyboard markup JSON object");
  if (markup.inline_keyboard !== undefined) {
    const kb = markup.inline_keyboard;
    if (!Array.isArray(kb) || kb.some((row) => !Array.isArray(row))) throw bad('field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays');
    for (const row of kb) {
      for (const btn of row) {
        if (!btn || typeof btn.text !== 'string') throw bad("can't find field \"text\"");
        if (btn.callback_data !== undefined) {
          const len = Buffer.byteLength(String(btn.callback_data), 'utf8');
          if (len < 1 || len > 64) throw bad('BUTTON_DATA_INVALID');
        }
        if (btn.url !== undefined && !/^(https?|tg):\/\/\S+$/i.test(String(btn.url))) {
          throw bad(`inline keyboard button URL '${btn.url}' is invalid: Wrong HTTP URL`);
        }
        const kinds = ['callback_data', 'url', 'switch_inline_query', 'switch_inline_query_current_chat', 'web_app', 'login_url', 'pay', 'callback_game', 'copy_text', 'switch_inline_query_chosen_chat'];
        if (!kinds.some((k) => btn[k] !== undefined)) throw bad("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard");
      }
    }
    return { inline: clone(markup), other: undefined };
  }
  if (markup.keyboard === undefined && !markup.remove_keyboard && !markup.force_reply) {
    throw bad("can't parse reply keyboard markup JSON object");
  }
  return { inline: undefined, other: clone(markup) };
}

// ---------------------------------------------------------------- messages

function botMessage(bot, chat, fields, extra) {
  const m = Object.assign(
    { message_id: chat.nextMessageId++, from: clone(bot.user), chat: clone(chat.obj), date: now() },
    fields,
  );
  for (const k of Object.keys(m)) if (m[k] === undefined) delete m[k];
  chat.messages.push(m);
  if (extra && extra.reply_markup) Object.defineProperty(m, '_sent_reply_markup', { value: extra.reply_markup, enumerable: false, writable: true });
  return m;
}

function replySnapshot(msg) {
  const c = clone(msg);
  delete c.reply_to_message;
  return c;
}

function resolveReply(chat, p) {
  let rp = p.reply_parameters;
  if (!rp && p.reply_to_message_id !== undefined) {
    rp = { message_id: p.reply_to_message_id, allow_sending_without_reply: p.allow_sending_without_reply };
  }
  if (!rp || rp.message_id === undefined) return undefined;
  const target = findMessage(chat, rp.message_id);
  if (!target) {
    if (rp.allow_sending_without_reply) return undefined;
    throw bad('message to be replied not found');
  }
  return replySnapshot(target);
}

function commonSendFields(bot, chat, p) {
  const f = {};
  const reply = resolveReply(chat, p);
  if (reply) f.reply_to_message = reply;
  if (p.message_thread_id !== undefined) f.message_thread_id = p.message_thread_id;
  if (p.protect_content) f.has_protected_content = true;
  return f;
}

const CONTENT_FIELDS = ['text', 'entities', 'photo', 'document', 'audio', 'voice', 'video', 'animation', 'sticker', 'video_note', 'location', 'contact', 'venue', 'poll', 'dice', 'caption', 'caption_entities', 'link_preview_options'];

function contentOf(msg) {
  const out = {};
  for (const k of CONTENT_FIELDS) if (msg[k] !== undefined) out[k] = clone(msg[k]);
  return out;
}

function testView(msg) {
  const c = clone(msg);
  if (msg._sent_reply_markup) c._sent_reply_markup = clone(msg._sent_reply_markup);
  return c;
}

// ---------------------------------------------------------------- Bot API methods

function checkCaption(bot, p) {
  if (p.caption === undefined || p.caption === null) return {};
  const parsed = parseFormatted(String(p.caption), p.parse_mode, p.caption_entities);
  if (parsed.text.length > 1024) throw bad('message caption is too long');
  const f = { caption: parsed.text };
  if (parsed.entities.length) f.caption_entities = parsed.entities;
  return f;
}

function mediaSender(field, kind, build) {
  return (bot, p, ctx) => {
    const chat = requireChat(bot, p.chat_id);
    const file = resolveInputFile(bot, p[field], ctx.parts, kind, field);
    const markup = normalizeMarkup(p.reply_markup);
    const fields = Object.assign(commonSendFields(bot, chat, p), { [field]: build(file, p) }, checkCaption(bot, p));
    if (markup.inline) fields.reply_markup = markup.inline;
    return botMessage(bot, chat, fields, { reply_markup: markup.other });
  };
}

const fileBase = (f) => {
  const o = { file_id: f.file_id, file_unique_id: f.file_unique_id };
  if (f.file_size) o.file_size = f.file_size;
  return o;
};

function editTarget(bot, p) {
  if (p.inline_message_id !== undefined) throw bad('MESSAGE_ID_INVALID');
  const chat = requireChat(bot, p.chat_id);
  if (p.message_id === undefined) throw bad('message identifier is not specified');
  const msg = findMessage(chat, p.message_id);
  if (!msg) throw bad('message to edit not found');
  if (!msg.from || msg.from.id !== bot.id) throw bad("message can't be edited");
  return { chat, msg };
}

const NOT_MODIFIED = 'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message';

const methods = {
  getme(bot) {
    return {
      id: bot.id,
      is_bot: true,
      first_name: BOT_FIRST_NAME,
      username: BOT_USERNAME,
      can_join_groups: true,
      can_read_all_group_messages: !bot.privacyMode,
      supports_inline_queries: false,
      can_connect_to_business: false,
      has_main_web_app: false,
    };
  },
  logout: () => true,
  close: () => true,
  deletewebhook(bot, p) {
    bot.webhook = null;
    if (p.drop_pending_updates) bot.updates = [];
    return true;
  },
  setwebhook(bot, p) {
    if (!p.url) {
      bot.webhook = null;
      return true;
    }
    if (!/^https:\/\//i.test(String(p.url))) throw bad('bad webhook: An HTTPS URL must be provided for webhook');
    bot.webhook = { url: String(p.url), allowed_updates: p.allowed_updates, secret_token: p.secret_token, max_connections: p.max_connections };
    if (p.drop_pending_updates) bot.updates = [];
    return true;
  },
  getwebhookinfo(bot) {
    const info = { url: bot.webhook ? bot.webhook.url : '', has_custom_certificate: false, pending_update_count: bot.updates.length };
    if (bot.webhook && bot.webhook.max_connections) info.max_connections = bot.webhook.max_connections;
    if (bot.webhook && bot.webhook.allowed_updates) info.allowed_updates = bot.webhook.allowed_updates;
    return info;
  },
  sendmessage(bot, p) {
    const chat = requireChat(bot, p.chat_id);
    if (p.text === undefined || p.text === null || String(p.text) === '') throw bad('message text is empty');
    const parsed = parseFormatted(String(p.text), p.parse_mode, p.entities);
    if (!parsed.text.trim()) throw bad('message text is empty');
    if (parsed.text.length > 4096) throw bad('message is too long');
    const markup = normalizeMarkup(p.reply_markup);
    const fields = commonSendFields(bot, chat, p);
    fields.text = parsed.text;
    if (parsed.entities.length) fields.entities = parsed.entities;
    if (p.link_preview_options && typeof p.link_preview_options === 'object') fields.link_preview_options = p.link_preview_options;
    if (markup.inline) fields.reply_markup = markup.inline;
    return botMessage(bot, chat, fields, { reply_markup: markup.other });
  },
  editmessagetext(bot, p) {
    const { msg } = editTarget(bot, p);
    if (msg.text === undefined) throw bad('there is no text in the message to edit');
    if (p.text === undefined || p.text === null || String(p.text) === '') throw bad('message text is empty');
    const parsed = parseFormatted(String(p.text), p.parse_mode, p.entities);
    if (!parsed.text.trim()) throw bad('message text is empty');
    if (parsed.text.length > 4096) throw bad('message is too long');
    const markup = normalizeMarkup(p.reply_markup);
    const newEntities = parsed.entities.length ? parsed.entities : undefined;
    if (
      msg.text === parsed.text &&
      stableStringify(msg.entities || null) === stableStringify(newEntities || null) &&
      stableStringify(msg.reply_markup || null) === stableStringify(markup.inline || null)
    ) {
      throw bad(NOT_MODIFIED);
    }
    msg.text = parsed.text;
    if (newEntities) msg.entities = newEntities;
    else delete msg.entities;
    if (markup.inline) msg.reply_markup = markup.inline;
    else delete msg.reply_markup;
    if (p.link_preview_options && typeof p.link_preview_options === 'object') msg.link_preview_options = p.link_preview_options;
    msg.edit_date = now();
    return clone(msg);
  },
  editmessagecaption(bot, p) {
    const { msg } = editTarget(bot, p);
    const cap = checkCaption(bot, Object.assign({}, p, { caption: p.caption === undefined ? '' : p.caption }));
    const markup = normalizeMarkup(p.reply_markup);
    if (
      (msg.caption || '') === (cap.caption || '') &&
      stableStringify(msg.caption_entities || null) === stableStringify(cap.caption_entities || null) &&
      stableStringify(msg.reply_markup || null) === stableStringify(markup.inline || null)
    ) {
      throw bad(NOT_MODIFIED);
    }
    if (cap.caption) msg.caption = cap.caption;
    else delete msg.caption;
    if (cap.caption_entities) msg.caption_entities = cap.caption_entities;
    else delete msg.caption_entities;
    if (markup.inline) msg.reply_markup = markup.inline;
    else delete msg.reply_markup;
    msg.edit_date = now();
    return clone(msg);
  },
  editmessagereplymarkup(bot, p) {
    const { msg } = editTarget(bot, p);
    const markup = normalizeMarkup(p.reply_markup);
    if (stableStringify(msg.reply_markup || null) === stableStringify(markup.inline || null)) throw bad(NOT_MODIFIED);
    if (markup.inline) msg.reply_markup = markup.inline;
    else delete msg.reply_markup;
    msg.edit_date = now();
    return clone(msg);
  },
  deletemessage(bot, p) {
    const chat = requireChat(bot, p.chat_id);
    const idx = chat.messages.findIndex((m) => m.message_id === Number(p.message_id));
    if (idx < 0) throw bad('message to delete not found');
    const msg = chat.messages[idx];
    if (chat.obj.type !== 'private' && msg.from && msg.from.id !== bot.id) throw bad("message can't be deleted");
    chat.messages.splice(idx, 1);
    return true;
  },
  deletemessages(bot, p) {
    const chat = requireChat(bot, p.chat_id);
    const ids = new Set((p.message_ids || []).map(Number));
    chat.messages = chat.messages.filter((m) => !ids.has(m.message_id));
    return true;
  },
  answercallbackquery(bot, p) {
    const cq = bot.callbackQueries.get(String(p.callback_query_id));
    if (!cq || cq.answer) throw bad('query is too old and response timeout expired or query ID is invalid');
    if (p.text !== undefined && String(p.text).length > 200) throw bad('MESSAGE_TOO_LONG');
    cq.answer = { text: p.text, show_alert: !!p.show_alert, url: p.url, cache_time: p.cache_time, time: Date.now() / 1000 };
    return true;
  },
  sendchataction(bot, p) {
    requireChat(bot, p.chat_id);
    const allowed = ['typing', 'upload_photo', 'record_video', 'upload_video', 'record_voice', 'upload_voice', 'upload_document', 'choose_sticker', 'find_location', 'record_video_note', 'upload_video_note'];
    if (!allowed.includes(p.action)) throw bad('wrong parameter action in request');
    return true;
  },
  setmycommands(bot, p) {
    const cmds = p.commands;
    if (!Array.isArray(cmds)) throw bad('parameter "commands" is required');
    if (cmds.length > 100) throw bad('BOT_COMMANDS_TOO_MUCH');
    for (const c of cmds) {
      if (!c || !/^[a-z0-9_]{1,32}$/.test(String(c.command))) throw bad('BOT_COMMAND_INVALID');
      const d = String(c.description === undefined ? '' : c.description);
      if (d.length < 1 || d.length > 256) throw bad('BOT_COMMAND_DESCRIPTION_INVALID');
    }
    bot.commands.set(commandsKey(p), cmds.map((c) => ({ command: c.command, description: c.description })));
    return true;
  },
  getmycommands(bot, p) {
    return clone(bot.commands.get(commandsKey(p)) || []);
  },
  deletemycommands(bot, p) {
    bot.commands.delete(commandsKey(p));
    return true;
  },
  setchatmenubutton(bot, p) {
    const key = p.chat_id === undefined ? '*' : chatKey(p.chat_id);
    bot.menuButtons.set(key, p.menu_button || { type: 'default' });
    return true;
  },
  getchatmenubutton(bot, p) {
    const key = p.chat_id === undefined ? '*' : chatKey(p.chat_id);
    return clone(bot.menuButtons.get(key) || bot.menuButtons.get('*') || { type: 'default' });
  },
  getchat(bot, p) {
    const chat = requireChat(bot, p.chat_id);
    return Object.assign(clone(chat.obj), {
      accent_color_id: 0,
      max_reaction_count: 11,
      accepted_gift_types: { unlimited_gifts: false, limited_gifts: false, unique_gifts: false, premium_subscription: false, gifts_from_channels: false },
    });
  },
  getchatmember(bot, p) {
    requireChat(bot, p.chat_id);
    const uid = Number(p.user_id);
    if (uid === bot.id) return { status: 'member', user: clone(bot.user) };
    const user = bot.users.get(uid);
    if (!user) throw bad('user not found');
    return { status: 'member', user: clone(user) };
  },
  forwardmessage(bot, p) {
    const chat = requireChat(bot, p.chat_id);
    const from = requireChat(bot, p.from_chat_id);
    const src = findMessage(from, p.message_id);
    if (!src) throw bad('message to forward not found');
    const fields = Object.assign(commonSendFields(bot, chat, p), contentOf(src));
    fields.forward_origin = { type: 'user', sender_user: clone(src.from), date: src.date };
    return botMessage(bot, chat, fields);
  },
  copymessage(bot, p) {
    const chat = requireChat(bot, p.chat_id);
    const from = requireChat(bot, p.from_chat_id);
    const src = findMessage(from, p.message_id);
    if (!src) throw bad('message to copy not found');
    const fields = Object.assign(commonSendFields(bot, chat, p), contentOf(src));
    if (p.caption !== undefined && fields.text === undefined) {
      delete fields.caption_entities;
      Object.assign(fields, checkCaption(bot, p));
    }
    const markup = normalizeMarkup(p.reply_markup);
    if (markup.inline) fields.reply_markup = markup.inline;
    const m = botMessage(bot, chat, fields, { reply_markup: markup.other });
    return { message_id: m.message_id };
  },
  sendphoto: mediaSender('photo', 'photos', (f) => [Object.assign(fileBase(f), { width: 800, height: 600 })]),
  senddocument: mediaSender('document', 'documents', (f) => Object.assign(fileBase(f), f.file_name ? { file_name: f.file_name } : {}, f.mime_type ? { mime_type: f.mime_type } : {})),
  sendaudio: mediaSender('audio', 'music', (f, p) => Object.assign(fileBase(f), { duration: Number(p.duration) || 1 })),
  sendvoice: mediaSender('voice', 'voice', (f, p) => Object.assign(fileBase(f), { duration: Number(p.duration) || 1, mime_type: 'audio/ogg' })),
  sendvideo: mediaSender('video', 'videos', (f, p) => Object.assign(fileBase(f), { width: 640, height: 480, duration: Number(p.duration) || 1 })),
  sendanimation: mediaSender('animation', 'animations', (f) => Object.assign(fileBase(f), { width: 320, height: 240, duration: 1 })),
  sendsticker: mediaSender('sticker', 'stickers', (f) => Object.assign(fileBase(f), { type: 'regular', width: 512, height: 512, is_animated: false, is_video: false })),
  sendlocation(bot, p) {
    const chat = requireChat(bot, p.chat_id);
    const fields = commonSendFields(bot, chat, p);
    fields.location = { latitude: Number(p.latitude), longitude: Number(p.longitude) };
    return botMessage(bot, chat, fields);
  },
  getfile(bot, p) {
    const f = bot.files.get(String(p.file_id));
    if (!f) throw bad('invalid file_id');
    const o = fileBase(f);
    o.file_path = f.file_path;
    return o;
  },
  setmydescription: () => true,
  setmyshortdescription: () => true,
  setmyname: () => true,
  setmessagereaction(bot, p) {
    const chat = requireChat(bot, p.chat_id);
    if (!findMessage(chat, p.message_id)) throw bad('message to react not found');
    return true;
  },
  pinchatmessage(bot, p) {
    const chat = requireChat(bot, p.chat_id);
    if (!findMessage(chat, p.message_id)) throw bad('message to pin not found');
    return true;
  },
  unpinchatmessage: (bot, p) => (requireChat(bot, p.chat_id), true),
  leavechat: (bot, p) => (requireChat(bot, p.chat_id), true),
};

function commandsKey(p) {
  const scope = p.scope && typeof p.scope === 'object' ? p.scope : { type: 'default' };
  const valid = ['default', 'all_private_chats', 'all_group_chats', 'all_chat_administrators', 'chat', 'chat_administrators', 'chat_member'];
  if (!valid.includes(scope.type)) throw bad('BOT_COMMAND_SCOPE_INVALID');
  return stableStringify(scope) + '|' + (p.language_code || '');
}

// ---------------------------------------------------------------- getUpdates (long polling)

function pendingUpdates(bot, limit) {
  return clone(bot.updates.slice(0, limit));
}

function wakeWaiters(bot) {
  const ws = bot.waiters;
  bot.waiters = [];
  for (const w of ws) {
    clearTimeout(w.timer);
    w.respond(200, { ok: true, result: pendingUpdates(bot, w.limit) });
  }
}

function getUpdates(bot, p, respond, req) {
  if (bot.webhook) {
    throw new ApiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
  }
  if (p.offset !== undefined && p.offset !== null && p.offset !== '') {
    const offset = Number(p.offset);
    if (offset < 0) bot.updates = bot.updates.slice(Math.max(0, bot.updates.length + offset));
    else bot.updates = bot.updates.filter((u) => u.update_id >= offset);
  }
  let limit = p.limit === undefined ? 100 : Number(p.limit);
  if (!(limit >= 1)) limit = 1;
  if (limit > 100) limit = 100;
  let timeout = p.timeout === undefined ? 0 : Number(p.timeout);
  if (!(timeout > 0)) timeout = 0;
  // A newer getUpdates terminates any request still waiting (as Telegram does).
  const old = bot.waiters;
  bot.waiters = [];
  for (const w of old) {
    clearTimeout(w.timer);
    w.respond(409, { ok: false, error_code: 409, description: 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running' });
  }
  if (bot.updates.length || timeout === 0) {
    respond(200, { ok: true, result: pendingUpdates(bot, limit) });
    return;
  }
  const waiter = { limit, respond };
  waiter.timer = setTimeout(() => {
    bot.waiters = bot.waiters.filter((w) => w !== waiter);
    respond(200, { ok: true, result: pendingUpdates(bot, limit) });
  }, Math.min(timeout, 50) * 1000);
  bot.waiters.push(waiter);
  req.on('close', () => {
    if (bot.waiters.includes(waiter)) {
      clearTimeout(waiter.timer);
      bot.waiters = bot.waiters.filter((w) => w !== waiter);
    }
  });
}

// ---------------------------------------------------------------- request parsing

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseMultipart(body, boundary) {
  const parts = {};
  const delim = Buffer.from('--' + boundary);
  let pos = body.indexOf(delim);
  while (pos >= 0) {
    pos += delim.length;
    if (body.slice(pos, pos + 2).toString() === '--') break;
    if (body.slice(pos, pos + 2).toString() === '\r\n') pos += 2;
    const headerEnd = body.indexOf('\r\n\r\n', pos);
    if (headerEnd < 0) break;
    const headers = body.slice(pos, headerEnd).toString('utf8');
    const next = body.indexOf(delim, headerEnd + 4);
    if (next < 0) break;
    let data = body.slice(headerEnd + 4, next);
    if (data.length >= 2 && data[data.length - 2] === 13 && data[data.length - 1] === 10) data = data.slice(0, data.length - 2);
    const disp = /content-disposition:[^\r\n]*/i.exec(headers);
    const nameM = disp && /\bname="([^"]*)"/i.exec(disp[0]);
    const fileM = disp && /\bfilename="([^"]*)"/i.exec(disp[0]);
    const ctM = /content-type:\s*([^\r\n;]+)/i.exec(headers);
    if (nameM) {
      if (fileM) parts[nameM[1]] = { isFile: true, filename: fileM[1], contentType: ctM ? ctM[1].trim() : 'application/octet-stream', data };
      else parts[nameM[1]] = data.toString('utf8');
    }
    pos = next;
  }
  return parts;
}

// Fields that Telegram types as String: never coerce them.
const STRING_FIELDS = new Set([
  'text', 'caption', 'parse_mode', 'callback_query_id', 'action', 'language_code', 'inline_message_id', 'photo',
  'document', 'audio', 'voice', 'video', 'animation', 'sticker', 'video_note', 'url', 'secret_token', 'ip_address',
  'emoji', 'title', 'description', 'short_description', 'name', 'address', 'question', 'file_id', 'certificate',
  'thumbnail', 'data', 'performer', 'first_name', 'last_name', 'phone_number', 'business_connection_id',
  'message_effect_id', 'custom_title', 'sticker_set_name', 'foursquare_id', 'google_place_id', 'vcard',
]);

function coerce(name, value) {
  if (typeof value !== 'string') return value;
  if (STRING_FIELDS.has(name)) return value;
  if (/^-?\d+$/.test(value)) {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : value;
  }
  if (/^-?\d+\.\d+$/.test(value)) return Number(value);
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (value.startsWith('{') || value.startsWith('[')) {
    try {
      return JSON.parse(value);
    } catch (e) {
      return value;
    }
  }
  return value;
}

async function parseParams(req, url) {
  const params = {};
  let parts = {};
  for (const [k, v] of url.searchParams) params[k] = coerce(k, v);
  const body = await readBody(req);
  const ct = String(req.headers['content-type'] || '').toLowerCase();
  const contentType = ct.split(';')[0].trim();
  if (body.length) {
    if (contentType === 'application/json') {
      let obj;
      try {
        obj = JSON.parse(body.toString('utf8'));
      } catch (e) {
        throw bad("can't parse JSON object");
      }
      if (obj && typeof obj === 'object') Object.assign(params, obj);
    } else if (contentType === 'multipart/form-data') {
      const bm = /boundary=("?)([^";]+)\1/i.exec(req.headers['content-type']);
      if (!bm) throw bad('invalid multipart boundary');
      parts = parseMultipart(body, bm[2]);
      for (const [k, v] of Object.entries(parts)) params[k] = typeof v === 'string' ? coerce(k, v) : v;
    } else {
      for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params[k] = coerce(k, v);
    }
  }
  return { params, parts, contentType: contentType || null };
}

function summarizeParams(params) {
  const out = {};
  for (const [k, v] of Object.entries(params)) {
    out[k] = v && v.isFile ? { _file: true, filename: v.filename, content_type: v.contentType, size: v.data.length } : v;
  }
  return out;
}

// ---------------------------------------------------------------- faults

function takeFault(token, method, params) {
  const lm = method.toLowerCase();
  for (const f of faults) {
    if (f.times <= 0) continue;
    if (f.token && f.token !== token) continue;
    if (f.chat_id !== null && String((params || {}).chat_id) !== f.chat_id) continue;
    const fm = String(f.method).toLowerCase();
    if (fm === '*' ? lm === 'getupdates' : fm !== lm) continue;
    f.times -= 1;
    faults = faults.filter((x) => x.times > 0);
    return f;
  }
  return null;
}

function faultBody(f) {
  const status = f.status;
  const defaults = {
    400: 'Bad Request: fault injected',
    401: 'Unauthorized',
    403: 'Forbidden: bot was blocked by the user',
    404: 'Not Found',
    409: 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
    429: `Too Many Requests: retry after ${f.retry_after || 1}`,
    500: 'Internal Server Error',
    502: 'Bad Gateway',
    503: 'Service Unavailable',
  };
  const body = { ok: false, error_code: status, description: f.description || defaults[status] || `Error ${status}` };
  if (status === 429) body.parameters = { retry_after: f.retry_after || 1 };
  return body;
}

// ---------------------------------------------------------------- HTTP plumbing

function sendJson(res, status, obj) {
  if (res.writableEnded || res.destroyed) return;
  const data = Buffer.from(JSON.stringify(obj));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': data.length });
  res.end(data);
}

async function handleBotApi(req, res, url, token, method) {
  const bot = getBot(token);
  let parsed;
  const call = { method, params: {}, time: Date.now() / 1000, http_method: req.method, content_type: null, status: null };
  bot.calls.push(call);
  const respond = (status, body) => {
    if (call.status === null) {
      call.status = status;
      call.ok = !!body.ok;
      if (!body.ok) call.description = body.description;
    }
    sendJson(res, status, body);
  };
  try {
    parsed = await parseParams(req, url);
    call.params = summarizeParams(parsed.params);
    call.content_type = parsed.contentType;
  } catch (e) {
    if (e instanceof ApiError) return respond(e.code, { ok: false, error_code: e.code, description: e.description });
    throw e;
  }
  const fault = takeFault(token, method, parsed.params);
  if (fault) {
    call.fault = true;
    if (fault.delay_ms) await new Promise((r) => setTimeout(r, fault.delay_ms));
    if (fault.status && fault.status !== 200) return respond(fault.status, faultBody(fault));
  }
  const lm = method.toLowerCase();
  try {
    if (lm === 'getupdates') return getUpdates(bot, parsed.params, respond, req);
    const fn = Object.prototype.hasOwnProperty.call(methods, lm) ? methods[lm] : null;
    if (!fn) return respond(404, { ok: false, error_code: 404, description: 'Not Found' });
    const result = fn(bot, parsed.params, { parts: parsed.parts });
    return respond(200, { ok: true, result });
  } catch (e) {
    if (e instanceof ApiError) {
      const body = { ok: false, error_code: e.code, description: e.description };
      if (e.parameters) body.parameters = e.parameters;
      return respond(e.code, body);
    }
    console.error(e && e.stack ? e.stack : e);
    return respond(500, { ok: false, error_code: 500, description: `Internal Server Error: ${e && e.message}` });
  }
}

function handleFile(res, token, filePath) {
  const bot = getBot(token);
  for (const f of bot.files.values()) {
    if (f.file_path === filePath) {
      const data = f.content || Buffer.alloc(0);
      res.writeHead(200, { 'Content-Type': f.mime_type || 'application/octet-stream', 'Content-Length': data.length });
      return res.end(data);
    }
  }
  sendJson(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
}

// ---------------------------------------------------------------- /_test endpoints

async function readJson(req) {
  const body = await readBody(req);
  if (!body.length) return {};
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw new ApiError(400, 'invalid JSON body');
  }
}

function needToken(obj) {
  if (!obj.token) throw new ApiError(400, 'token is required');
  return getBot(String(obj.token));
}

function makeUser(u, fallbackId) {
  u = u || {};
  const user = { id: Number(u.id !== undefined ? u.id : fallbackId), is_bot: false, first_name: u.first_name || 'Ana' };
  for (const k of ['last_name', 'username', 'language_code', 'is_premium']) if (u[k] !== undefined && u[k] !== null) user[k] = u[k];
  return user;
}

function shouldDeliver(bot, chat, msg, deliver) {
  if (deliver === true || deliver === false) return deliver;
  if (chat.obj.type === 'private' || !bot.privacyMode) return true;
  // Privacy mode (can_read_all_group_messages=false): commands, mentions of the bot, replies to the bot.
  const text = msg.text || msg.caption || '';
  const ents = msg.entities || msg.caption_entities || [];
  for (const e of ents) {
    const s = text.substr(e.offset, e.length);
    if (e.type === 'bot_command') {
      const at = s.indexOf('@');
      if (at < 0 || s.slice(at + 1).toLowerCase() === BOT_USERNAME) return true;
    }
    if (e.type === 'mention' && s.toLowerCase() === '@' + BOT_USERNAME) return true;
  }
  if (msg.reply_to_message && msg.reply_to_message.from && msg.reply_to_message.from.id === bot.id) return true;
  const service = ['new_chat_members', 'left_chat_member', 'new_chat_title', 'group_chat_created', 'supergroup_chat_created', 'migrate_to_chat_id', 'migrate_from_chat_id', 'pinned_message'];
  return service.some((k) => msg[k] !== undefined);
}

function testUserSend(b) {
  const bot = needToken(b);
  if (b.chat_id === undefined) throw new ApiError(400, 'chat_id is required');
  const chatType = b.chat_type || (Number(b.chat_id) < 0 ? 'supergroup' : 'private');
  const user = makeUser(b.user, chatType === 'private' ? b.chat_id : 1000);
  bot.users.set(user.id, user);
  const chat = ensureChat(bot, {
    id: b.chat_id,
    type: chatType,
    title: b.chat_title,
    first_name: user.first_name,
    last_name: user.last_name,
    username: chatType === 'private' ? user.username : undefined,
  });
  const msg = { message_id: chat.nextMessageId++, from: user, chat: clone(chat.obj), date: now() };
  if (b.text !== undefined && b.text !== null) {
    msg.text = String(b.text);
    const ents = Array.isArray(b.entities) ? b.entities : autoEntities(msg.text);
    if (ents.length) msg.entities = ents;
  }
  if (b.message_fields && typeof b.message_fields === 'object') {
    Object.assign(msg, clone(b.message_fields));
    registerFileIds(bot, b.message_fields);
    if (typeof msg.caption === 'string' && !msg.caption_entities) {
      const ents = autoEntities(msg.caption);
      if (ents.length) msg.caption_entities = ents;
    }
  }
  if (b.reply_to_message_id !== undefined && b.reply_to_message_id !== null) {
    const target = findMessage(chat, b.reply_to_message_id);
    if (!target) throw new ApiError(400, `message ${b.reply_to_message_id} not found in chat ${b.chat_id}`);
    msg.reply_to_message = replySnapshot(target);
  }
  if (msg.text === undefined && Object.keys(msg).length <= 4) throw new ApiError(400, 'either text or message_fields is required');
  chat.messages.push(msg);
  const deliver = shouldDeliver(bot, chat, msg, b.deliver === undefined || b.deliver === null || b.deliver === 'auto' ? null : !!b.deliver);
  let update = null;
  if (deliver) update = enqueueUpdate(bot, { message: clone(msg) });
  return { ok: true, result: clone(msg), update_id: update ? update.update_id : null, delivered: deliver };
}

function testUserPress(b) {
  const bot = needToken(b);
  const chat = bot.chats.get(chatKey(b.chat_id));
  if (!chat) throw new ApiError(400, `unknown chat ${b.chat_id}`);
  const msg = findMessage(chat, b.message_id);
  if (!msg) throw new ApiError(400, `message ${b.message_id} not found in chat ${b.chat_id}`);
  if (!msg.from || msg.from.id !== bot.id) throw new ApiError(400, `message ${b.message_id} was not sent by the bot`);
  const buttons = ((msg.reply_markup && msg.reply_markup.inline_keyboard) || []).flat();
  // `forged`: what a modified client can send (any callback data on a bot message); the bot
  // must not trust it.
  if (!b.forged && !buttons.some((btn) => btn.callback_data === b.data)) {
    throw new ApiError(400, `message ${b.message_id} has no inline button with callback_data ${JSON.stringify(b.data)}; buttons: ${JSON.stringify(buttons)}`);
  }
  const fallbackId = chat.obj.type === 'private' ? chat.obj.id : 1000;
  const user = b.user ? makeUser(b.user, fallbackId) : bot.users.get(Number(fallbackId)) || makeUser({}, fallbackId);
  bot.users.set(user.id, user);
  const id = String(BigInt(bot.id) * 1000000n + BigInt(bot.nextCallbackId++));
  const chatInstance = String(BigInt.asIntN(64, BigInt('0x' + crypto.createHash('sha1').update(`${bot.id}:${chat.obj.id}`).digest('hex').slice(0, 16))));
  const cq = { id, from: user, message: clone(msg), chat_instance: chatInstance, data: b.data };
  bot.callbackQueries.set(id, { query: cq, answer: null });
  const update = enqueueUpdate(bot, { callback_query: clone(cq) });
  return { ok: true, result: id, update_id: update.update_id };
}

async function handleTest(req, res, url) {
  const path = url.pathname.replace(/\/+$/, '');
  const q = Object.fromEntries(url.searchParams);
  const ok = (result, extra) => sendJson(res, 200, Object.assign({ ok: true, result }, extra || {}));
  try {
    if (req.method === 'POST' && path === '/_test/users/send') return sendJson(res, 200, testUserSend(await readJson(req)));
    if (req.method === 'POST' && path === '/_test/users/press') return sendJson(res, 200, testUserPress(await readJson(req)));
    if (req.method === 'POST' && path === '/_test/chats') {
      const b = await readJson(req);
      const bot = needToken(b);
      const chat = ensureChat(bot, { id: b.chat_id, type: b.chat_type, title: b.chat_title, first_name: b.first_name, username: b.username });
      return ok(clone(chat.obj));
    }
    let m = /^\/_test\/chats\/([^/]+)\/messages$/.exec(path);
    if (req.method === 'GET' && m) {
      const bot = needToken(q);
      const chat = bot.chats.get(chatKey(decodeURIComponent(m[1])));
      return ok(chat ? chat.messages.map(testView) : []);
    }
    if (req.method === 'GET' && path === '/_test/calls') {
      const bot = needToken(q);
      const lm = q.method ? q.method.toLowerCase() : null;
      return ok(bot.calls.filter((c) => !lm || c.method.toLowerCase() === lm));
    }
    if (req.method === 'GET' && path === '/_test/updates') {
      const bot = needToken(q);
      return ok(clone(bot.updates), { next_update_id: bot.nextUpdateId, waiting_polls: bot.waiters.length });
    }
    if (req.method === 'GET' && path === '/_test/callback_queries') {
      const bot = needToken(q);
      return ok([...bot.callbackQueries.values()].map((c) => Object.assign(clone(c.query), { _answer: c.answer })));
    }
    if (req.method === 'GET' && path === '/_test/commands') {
      const bot = needToken(q);
      return ok(Object.fromEntries([...bot.commands.entries()].map(([k, v]) => [k, v])));
    }
    if (req.method === 'POST' && path === '/_test/files') {
      const b = await readJson(req);
      const bot = needToken(b);
      const content = Buffer.from(b.content_base64 || '', 'base64');
      const f = registerFile(bot, { file_id: b.file_id, content, file_name: b.file_name, mime_type: b.mime_type, kind: b.kind || 'documents' });
      return ok(fileBase(f));
    }
    if (req.method === 'POST' && path === '/_test/config') {
      const b = await readJson(req);
      const bot = needToken(b);
      if (b.privacy_mode !== undefined) bot.privacyMode = !!b.privacy_mode;
      return ok({ privacy_mode: bot.privacyMode });
    }
    if (req.method === 'POST' && path === '/_test/faults') {
      const b = await readJson(req);
      if (!b.method) throw new ApiError(400, 'method is required');
      const f = {
        token: b.token ? String(b.token) : null,
        method: String(b.method),
        status: b.status === undefined ? (b.delay_ms ? 200 : 500) : Number(b.status),
        times: b.times === undefined ? 1 : Number(b.times),
        retry_after: b.retry_after,
        delay_ms: b.delay_ms,
        description: b.description,
        chat_id: b.chat_id === undefined || b.chat_id === null ? null : String(b.chat_id),
      };
      faults.push(f);
      return ok(f);
    }
    if (req.method === 'GET' && path === '/_test/faults') return ok(faults);
    if (req.method === 'DELETE' && path === '/_test/faults') {
      faults = [];
      return ok(true);
    }
    if (req.method === 'POST' && path === '/_test/reset') {
      for (const bot of bots.values()) {
        for (const w of bot.waiters) {
          clearTimeout(w.timer);
          w.respond(200, { ok: true, result: [] });
        }
      }
      bots = new Map();
      faults = [];
      return ok(true);
    }
    if (req.method === 'GET' && path === '/_test/health') return ok(true);
    return sendJson(res, 404, { ok: false, error: `no test endpoint ${req.method} ${path}` });
  } catch (e) {
    if (e instanceof ApiError) return sendJson(res, e.code, { ok: false, error: e.description });
    console.error(e && e.stack ? e.stack : e);
    return sendJson(res, 500, { ok: false, error: String(e && e.message) });
  }
}

// ---------------------------------------------------------------- server

const server = http.createServer(async (req, res) => {
  let url;
  try {
    url = new URL(req.url, 'http://127.0.0.1');
  } catch (e) {
    return sendJson(res, 400, { ok: false, error_code: 400, description: 'Bad Request' });
  }
  try {
    if (url.pathname.startsWith('/_test/')) return await handleTest(req, res, url);
    let m = /^\/bot([^/]+)\/([A-Za-z0-9_]+)\/?$/.exec(url.pathname);
    if (m) return await handleBotApi(req, res, url, decodeURIComponent(m[1]), m[2]);
    m = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (m) return handleFile(res, decodeURIComponent(m[1]), decodeURIComponent(m[2]));
    return sendJson(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
  } catch (e) {
    console.error(e && e.stack ? e.stack : e);
    return sendJson(res, 500, { ok: false, error_code: 500, description: 'Internal Server Error' });
  }
});
server.keepAliveTimeout = 65000;

function parseArgs(argv) {
  const out = { port: 0, host: '127.0.0.1', keepAlive: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--port') out.port = Number(argv[++i]);
    else if (argv[i] === '--host') out.host = argv[++i];
    else if (argv[i] === '--keep-alive') out.keepAlive = true;
  }
  return out;
}

const args = parseArgs(process.argv.slice(2));
const shutdown = () => {
  server.close();
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
if (!args.keepAlive) {
  process.stdin.on('end', shutdown);
  process.stdin.on('close', shutdown);
  process.stdin.on('error', shutdown);
  process.stdin.resume();
}
server.listen(args.port, args.host, () => {
  const { port } = server.address();
  process.stdout.write(`EMULATOR READY http://${args.host}:${port}\n`);
});
