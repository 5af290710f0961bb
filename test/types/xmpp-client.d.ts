// Minimal typings for the parts of @xmpp/client 0.14 the tests use.
declare module '@xmpp/client' {
  import type { Element } from '@xmpp/xml';
  import type { EventEmitter } from 'node:events';
  import xmlFn from '@xmpp/xml';
  import type { Socket as NodeSocket } from 'node:net';
  import type { WebSocket } from 'ws';
  export const xml: typeof xmlFn;
  export function jid(s: string): { toString(): string; bare(): { toString(): string }; local: string; domain: string; resource: string };
  export interface Client extends EventEmitter {
    jid: { toString(): string; bare(): { toString(): string } } | null;
    status: string;
    /**
     * The transport's wrapper (@xmpp/tls's Socket after STARTTLS, @xmpp/websocket's Socket);
     * the underlying socket is `socket.socket`: a Node TLSSocket, or a WebSocket.
     */
    socket: { socket: NodeSocket | WebSocket | null; secure: boolean; end(): void } | null;
    start(): Promise<unknown>;
    stop(): Promise<void>;
    send(...el: Element[]): Promise<void>;
    sendMany(els: Element[]): Promise<void>;
    disconnect(): Promise<void>;
    iqCaller: { request(el: Element, timeout?: number): Promise<Element>; get(el: Element, to?: string, timeout?: number): Promise<Element>; set(el: Element, to?: string, timeout?: number): Promise<Element> };
    iqCallee: { get(ns: string, name: string, handler: (ctx: unknown) => unknown): void; set(ns: string, name: string, handler: (ctx: unknown) => unknown): void };
    streamManagement: { id: string; enabled: boolean; outbound: number; inbound: number; timeout: number; requestAckInterval: number; debounceAckRequest: number };
    reconnect: { stop(): void; delay: number };
  }
  export function client(opts: Record<string, unknown>): Client;
}
