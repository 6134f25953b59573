import { useEffect, useRef } from 'preact/hooks';
import { type Route, useRoute } from './router.js';
import { useLive } from './store.js';
import { ActionsPage } from './views/actions.js';
import { MessagesPage } from './views/messages.js';
import { OverviewPage } from './views/overview.js';
import { QueueMessagesPage } from './views/queue-messages.js';
import { QueuesPage } from './views/queues.js';

const NAV = [
  { href: '#/', label: 'Overview', pages: ['overview'] },
  { href: '#/queues', label: 'Queues', pages: ['queues', 'queue'] },
  { href: '#/messages', label: 'Messages', pages: ['messages'] },
  { href: '#/actions', label: 'Actions', pages: ['actions'] },
] as const;

const TITLES: Record<Route['page'], string> = {
  overview: 'Overview',
  queues: 'Queues',
  queue: 'Queue',
  messages: 'Messages',
  actions: 'Actions',
  'not-found': 'Not found',
};

function Page({ route }: { readonly route: Route }) {
  switch (route.page) {
    case 'overview':
      return <OverviewPage />;
    case 'queues':
      return <QueuesPage />;
    case 'queue':
      return <QueueMessagesPage name={route.name} />;
    case 'messages':
      return <MessagesPage query={route.query} />;
    case 'actions':
      return <ActionsPage params={route.params} />;
    default:
      return (
        <section>
          <h1>Not found</h1>
          <p>
            There is no page at <code>{route.path}</code>. <a href="#/">Go to the overview</a>.
          </p>
        </section>
      );
  }
}

/** The shell: header with the node and the stream's state, the navigation, the page. */
export function App() {
  const route = useRoute();
  const { live, overview } = useLive();
  const main = useRef<HTMLElement>(null);
  const firstPage = useRef(true);

  // A new page moves focus to its content (not a new query of the same page).
  useEffect(() => {
    document.title = `${TITLES[route.page]} · Sterna`;
    if (firstPage.current) {
      firstPage.current = false;
      return;
    }
    main.current?.focus({ preventScroll: false });
  }, [route.page]);

  return (
    <>
      <button type="button" class="skip" onClick={() => main.current?.focus()}>
        Skip to content
      </button>
      <header class="top">
        <div class="brand">
          <span class="product">Sterna</span>
          {overview ? (
            <span class="node" title={`Sterna ${overview.version}`}>
              {overview.node_id}
            </span>
          ) : null}
        </div>
        <span role="status" class={`live ${live ? 'live-on' : 'live-off'}`}>
          {live ? 'Live' : 'Reconnecting…'}
        </span>
        <nav aria-label="Main">
          <ul>
            {NAV.map((item) => (
              <li key={item.href}>
                <a
                  href={item.href}
                  aria-current={
                    (item.pages as readonly string[]).includes(route.page) ? 'page' : undefined
                  }
                >
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        <Page route={route} />
      </main>
    </>
  );
}
