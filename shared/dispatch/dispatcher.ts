import type { SourceQueue } from "../sync/ports.js";
import type { Ticket, TicketSender } from "./tickets.js";

export interface DispatchOptions {
  /** Keys one ticket is expected to drain; the backlog divided by this is the ticket count. */
  readonly keysPerTicket: number;
  /** Upper bound of tickets per source per dispatch, so a huge backlog does not flood the queue. */
  readonly maxTickets: number;
}

export interface DispatchReport {
  readonly [source: string]: { readonly due: number; readonly tickets: number };
}

/**
 * Sends as many tickets per source as its due backlog needs (at least one while anything is
 * due, at most `maxTickets`). Tickets only say "drain this source": the work itself stays in the
 * Redis queue, so a lost or duplicated ticket costs time, never a key.
 */
export async function dispatchTickets(
  sources: ReadonlyMap<string, { readonly queue: SourceQueue }>,
  sender: TicketSender,
  now: number,
  { keysPerTicket, maxTickets }: DispatchOptions,
): Promise<DispatchReport> {
  const report: Record<string, { due: number; tickets: number }> = {};
  const tickets: Ticket[] = [];
  for (const [name, { queue }] of sources) {
    const { due } = await queue.stats(now);
    const count = due === 0 ? 0 : Math.min(maxTickets, Math.ceil(due / keysPerTicket));
    for (let i = 0; i < count; i++) tickets.push({ kind: "sync", source: name });
    report[name] = { due, tickets: count };
  }
  if (tickets.length > 0) await sender.send(tickets);
  return report;
}
