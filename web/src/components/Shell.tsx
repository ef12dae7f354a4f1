// The signed-in frame: the sidebar (collapsible on wide screens, a drawer on phones) beside the page.
import { Dialog, DialogPanel } from "@headlessui/react";
import { createContext, useContext, useEffect, useState } from "react";
import { Navigate, Outlet, useLocation, useNavigate } from "react-router";
import { useAuth } from "../auth/AuthContext";
import { ConversationsProvider } from "../chat/ConversationsContext";
import { MenuIcon, SidebarIcon } from "./Icons";
import { Sidebar } from "./Sidebar";

/** Lets a page put the button that opens the sidebar into its own header. */
const SidebarToggle = createContext<{ collapsed: boolean; open(): void }>({ collapsed: false, open: () => undefined });

export function SidebarButton() {
  const { collapsed, open } = useContext(SidebarToggle);
  return (
    <>
      <button type="button" onClick={open} className="rounded-lg p-2 hover:bg-zinc-100 md:hidden dark:hover:bg-zinc-800" aria-label="Open sidebar">
        <MenuIcon />
      </button>
      {collapsed && (
        <button type="button" onClick={open} className="hidden rounded-lg p-2 hover:bg-zinc-100 md:block dark:hover:bg-zinc-800" aria-label="Open sidebar">
          <SidebarIcon />
        </button>
      )}
    </>
  );
}

export function Shell() {
  const { user } = useAuth();
  const location = useLocation();
  const navigate = useNavigate();
  const [drawer, setDrawer] = useState(false);
  const [collapsed, setCollapsed] = useState(() => localStorage.getItem("parley:sidebar") === "collapsed");

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.shiftKey && e.key.toLowerCase() === "o") {
        e.preventDefault();
        navigate("/");
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [navigate]);

  if (user === undefined) return <div className="p-6 text-sm text-zinc-500" role="status">Loading…</div>;
  if (user === null) return <Navigate to={`/signin?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;

  const setCollapsedSaved = (value: boolean) => {
    setCollapsed(value);
    localStorage.setItem("parley:sidebar", value ? "collapsed" : "open");
  };

  return (
    <ConversationsProvider>
      <SidebarToggle.Provider value={{ collapsed, open: () => (window.matchMedia("(min-width: 768px)").matches ? setCollapsedSaved(false) : setDrawer(true)) }}>
        <div className="flex h-full">
          {!collapsed && (
            <aside className="hidden w-64 shrink-0 border-r border-zinc-200 md:block dark:border-zinc-800">
              <Sidebar onCollapse={() => setCollapsedSaved(true)} />
            </aside>
          )}
          <Dialog open={drawer} onClose={() => setDrawer(false)} className="relative z-40 md:hidden">
            <div className="fixed inset-0 bg-black/40" aria-hidden="true" />
            <DialogPanel className="fixed inset-y-0 left-0 w-72 max-w-[85%] shadow-xl">
              <Sidebar onNavigate={() => setDrawer(false)} onCollapse={() => setDrawer(false)} />
            </DialogPanel>
          </Dialog>
          <div className="relative flex min-w-0 flex-1 flex-col">
            <Outlet />
          </div>
        </div>
      </SidebarToggle.Provider>
    </ConversationsProvider>
  );
}
