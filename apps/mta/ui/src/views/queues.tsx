/** `#/queues` (being written). */
export function QueuesPage() {
  return <h1>Queues</h1>;
}
