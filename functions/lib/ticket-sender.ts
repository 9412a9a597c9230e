import type { Config } from "../../shared/config/index.js";
import { createServiceBusSender } from "../../shared/dispatch/service-bus-sender.js";
import type { TicketSender } from "../../shared/dispatch/tickets.js";

let sender: TicketSender | undefined;

/**
 * The ticket sender when Service Bus is configured, created once per worker process; null
 * otherwise. Apart from services.ts so that both it (the wake-up) and the timer use the same
 * sender without importing each other.
 */
export function ticketSenderFor({ dispatch, cosmos }: Pick<Config, "dispatch" | "cosmos">): TicketSender | null {
  if (!dispatch) return null;
  sender ??= createServiceBusSender({ ...dispatch, clientId: cosmos.clientId });
  return sender;
}

/**
 * Gives the process its ticket sender before the first invocation: where no Service Bus runs
 * (the tests), a sender that records what it is given, so the wake-up can be checked end to end.
 */
export function useTicketSender(given: TicketSender): void {
  sender = given;
}
