/** `#/actions` (being written). */
export function ActionsPage({ params }: { readonly params: URLSearchParams }) {
  return <h1>Actions {params.size}</h1>;
}
