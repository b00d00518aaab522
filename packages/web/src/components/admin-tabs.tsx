import { useLocation } from 'preact-iso';

const TABS = [
  { path: '/admin/users', label: 'Users' },
  { path: '/admin/plugins', label: 'Plugins' },
] as const;

/** The Administration pages, each at its own address. */
export function AdminTabs() {
  const { path } = useLocation();
  return (
    <nav class="tabs" aria-label="Administration">
      {TABS.map((t) => (
        <a key={t.path} href={t.path} aria-current={path === t.path ? 'page' : undefined}>
          {t.label}
        </a>
      ))}
    </nav>
  );
}
