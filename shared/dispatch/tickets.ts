import { z } from "zod";
import { ValidationError } from "../core/errors.js";

/**
 * A work ticket: "drain this source for a while". The timer sends as many as the backlog
 * needs; each instance the platform scales out to takes tickets and drains in parallel, which
 * a timer trigger (one instance at a time) cannot do.
 */
export const ticketSchema = z.object({ kind: z.literal("sync"), source: z.string().min(1) }).strict();

export type Ticket = z.infer<typeof ticketSchema>;

/** Sends tickets to the queue the ticket function listens on; the Service Bus adapter implements it. */
export interface TicketSender {
  send(tickets: readonly Ticket[]): Promise<void>;
  close(): Promise<void>;
}

/** A ticket from the wire; a malformed one is refused with a clear error (the host dead-letters it after its retries). */
export function parseTicket(body: unknown): Ticket {
  const text = typeof body === "string" ? tryJson(body) : body;
  const parsed = ticketSchema.safeParse(text);
  if (!parsed.success)
    throw new ValidationError("invalid_ticket", `not a work ticket: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  return parsed.data;
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
