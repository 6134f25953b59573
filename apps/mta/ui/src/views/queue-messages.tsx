/** `#/queues/scheduled/<name>` (being written). */
export function QueueMessagesPage({ name }: { readonly name: string }) {
  return <h1>Messages in {name}</h1>;
}
