/** `#/messages` (being written). */
export function MessagesPage({ query }: { readonly query: string }) {
  return <h1>Messages {query}</h1>;
}
