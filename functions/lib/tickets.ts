import { createServiceBusSender } from "../../shared/dispatch/service-bus-sender.js";
import type { TicketSender } from "../../shared/dispatch/tickets.js";
import { getConfig } from "./services.js";

let sender: TicketSender | undefined;

/** The ticket sender when Service Bus is configured, created once per worker process; null otherwise. */
export function getTicketSender(): TicketSender | null {
  const { dispatch, cosmos } = getConfig();
  if (!dispatch) return null;
  sender ??= createServiceBusSender({ ...dispatch, clientId: cosmos.clientId });
  return sender;
}
