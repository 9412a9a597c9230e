import type { TicketSender } from "../../shared/dispatch/tickets.js";
import { getConfig } from "./services.js";
import { ticketSenderFor } from "./ticket-sender.js";

/** The ticket sender when Service Bus is configured, created once per worker process; null otherwise. */
export function getTicketSender(): TicketSender | null {
  return ticketSenderFor(getConfig());
}
