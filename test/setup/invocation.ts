import functions from "@azure/functions";

const { InvocationContext } = functions;

/** A timer trigger's input, as the host passes it to a run that is on time. */
export const onTimeTimer = {
  isPastDue: false,
  schedule: { adjustForDST: false },
  scheduleStatus: { last: "", next: "", lastUpdated: "" },
};

/** The context the host gives an invocation of the function `name`. */
export const invocationContext = (name: string) =>
  new InvocationContext({ functionName: name, invocationId: `test-${name}` });
