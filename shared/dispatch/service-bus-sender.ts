import { DefaultAzureCredential } from "@azure/identity";
import { ServiceBusClient } from "@azure/service-bus";
import type { Ticket, TicketSender } from "./tickets.js";

export interface ServiceBusOptions {
  /** `<name>.servicebus.windows.net`, signed in with managed identity. */
  readonly namespace?: string;
  /** A connection string, for local use; never needed in Azure. */
  readonly connectionString?: string;
  readonly queue: string;
  readonly clientId?: string;
}

/** The only module that imports @azure/service-bus: tickets out as one batch per call. */
export function createServiceBusSender(options: ServiceBusOptions): TicketSender {
  const client = options.connectionString
    ? new ServiceBusClient(options.connectionString)
    : new ServiceBusClient(
        options.namespace!,
        new DefaultAzureCredential(options.clientId ? { managedIdentityClientId: options.clientId } : {}),
      );
  const sender = client.createSender(options.queue);
  return {
    async send(tickets: readonly Ticket[]) {
      let batch = await sender.createMessageBatch();
      for (const ticket of tickets) {
        const message = { body: ticket, contentType: "application/json", subject: ticket.kind };
        if (!batch.tryAddMessage(message)) {
          await sender.sendMessages(batch);
          batch = await sender.createMessageBatch();
          batch.tryAddMessage(message);
        }
      }
      if (batch.count > 0) await sender.sendMessages(batch);
    },
    async close() {
      await sender.close();
      await client.close();
    },
  };
}
