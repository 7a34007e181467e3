// Node 20 compatibility for the two libraries used here, which declare Node >= 22.
// Must be imported before any of them (ES modules evaluate imports in order).
//
// - oidc-provider 9 calls URL.parse() (added in Node 22.1).
// - @medplum/core reads WebSocket.CLOSING / WebSocket.CLOSED at module load (global
//   WebSocket arrived in Node 22); it never opens a socket in this program.
// On Node 22+ both already exist and nothing is changed.

if (typeof URL.parse !== 'function') {
  URL.parse = function parse(input, base) {
    try {
      return base === undefined ? new URL(input) : new URL(input, base);
    } catch {
      return null;
    }
  };
}

if (typeof globalThis.WebSocket === 'undefined') {
  globalThis.WebSocket = class WebSocketUnavailable {
    static CONNECTING = 0;
    static OPEN = 1;
    static CLOSING = 2;
    static CLOSED = 3;
    constructor() {
      throw new Error('WebSocket is not available in this Node.js runtime');
    }
  };
}
