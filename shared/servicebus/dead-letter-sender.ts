import { DefaultAzureCredential } from "@azure/identity";
import { ServiceBusClient, type ServiceBusMessage } from "@azure/service-bus";
import type { DeadLetterMessage, DeadLetterSender } from "../deadletters/mirror.js";

export interface DeadLetterQueueOptions {
  /** `<name>.servicebus.windows.net`, signed in with managed identity (SERVICEBUS_NAMESPACE). */
  readonly namespace?: string | undefined;
  /** A connection string, for local use (SERVICEBUS_CONNECTION_STRING). */
  readonly connectionString?: string | undefined;
  readonly queue: string;
  readonly clientId?: string | undefined;
}

/**
 * Dead letters as JSON messages on a Service Bus queue. The work-ticket sender
 * (shared/dispatch/service-bus-sender.ts) connects the same way; both stay thin over the SDK.
 */
export function createServiceBusDeadLetterSender(options: DeadLetterQueueOptions): DeadLetterSender {
  const client = options.connectionString
    ? new ServiceBusClient(options.connectionString)
    : new ServiceBusClient(
        options.namespace!,
        new DefaultAzureCredential(options.clientId ? { managedIdentityClientId: options.clientId } : {}),
      );
  const sender = client.createSender(options.queue);
  return {
    async send(messages) {
      let batch = await sender.createMessageBatch();
      for (const message of messages.map(toServiceBusMessage)) {
        if (batch.tryAddMessage(message)) continue;
        await sender.sendMessages(batch);
        batch = await sender.createMessageBatch();
        if (!batch.tryAddMessage(message))
          throw new Error(`dead letter ${message.messageId} is larger than a Service Bus message may be`);
      }
      if (batch.count > 0) await sender.sendMessages(batch);
    },
    async close() {
      await sender.close();
      await client.close();
    },
  };
}

/** A dead letter as a Service Bus message: the JSON body, and the fields to filter on as properties. */
export function toServiceBusMessage(message: DeadLetterMessage): ServiceBusMessage & { messageId: string } {
  // Service Bus message ids are at most 128 characters; long keys keep their unique tail.
  const messageId = message.messageId.length <= 128 ? message.messageId : message.messageId.slice(-128);
  return {
    messageId,
    subject: "driftless.deadletter",
    contentType: "application/json",
    body: message,
    applicationProperties: {
      source: message.source,
      id: message.key.id,
      reason: message.reason,
      attempts: message.attempts,
    },
  };
}
