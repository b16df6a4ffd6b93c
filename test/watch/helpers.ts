/** Shared by the watching tests: a webhook receiver on 127.0.0.1 and readers for what it got. */
import { startReceiver, type Receiver } from '../alerts/helpers.ts';
import type { Incident, NotificationEvent } from '../../src/store/types.ts';

export { closeReceivers, startReceiver, type Receiver } from '../alerts/helpers.ts';

export interface Delivered {
  event: NotificationEvent;
  project: string;
  incident: Incident;
  text: string;
}

/** The webhook bodies the receiver got, in order. */
export function delivered(receiver: Receiver): Delivered[] {
  return receiver.requests.map((r) => JSON.parse(r.body.toString('utf8')) as Delivered);
}

/** Those of one event and incident kind. */
export function deliveredOf(receiver: Receiver, event: NotificationEvent, kind: string, subject?: string): Delivered[] {
  return delivered(receiver).filter((d) => d.event === event && d.incident.kind === kind && (subject === undefined || d.incident.subject === subject));
}

/** A receiver and the config lines that send every incident to it (`alerts` gets `extra` keys too). */
export async function hookChannel(extra = ''): Promise<{ receiver: Receiver; yaml: string }> {
  const receiver = await startReceiver();
  return {
    receiver,
    yaml: `channels:\n  hook: { type: webhook, url: ${receiver.origin}/hook }\nalerts: { flap_window: 0s${extra ? `, ${extra}` : ''} }\n`,
  };
}
