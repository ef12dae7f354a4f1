// The sidebar: new chat, search, conversations by age with rename and delete, and the account menu.
import { Menu, MenuButton, MenuItem, MenuItems } from "@headlessui/react";
import { useState, type FormEvent } from "react";
import { Link, NavLink, useMatch, useNavigate } from "react-router";
import { useAuth } from "../auth/AuthContext";
import { useConversations } from "../chat/ConversationsContext";
import { grouped } from "../lib/dates";
import { ConfirmDialog } from "./ConfirmDialog";
import { DotsIcon, PlusIcon, SearchIcon, SidebarIcon } from "./Icons";

export function Sidebar({ onNavigate, onCollapse }: { onNavigate?: () => void; onCollapse?: () => void }) {
  const { items, query, setQuery, hasMore, loadMore, rename, remove } = useConversations();
  const { user, signOut } = useAuth();
  const navigate = useNavigate();
  const open = useMatch("/c/:id")?.params.id;
  const [renaming, setRenaming] = useState<string | null>(null);
  const [title, setTitle] = useState("");
  const [deleting, setDeleting] = useState<{ id: string; title: string } | null>(null);

  async function submitRename(e: FormEvent, id: string) {
    e.preventDefault();
    if (title.trim()) await rename(id, title.trim());
    setRenaming(null);
  }

  async function confirmDelete() {
    if (!deleting) return;
    await remove(deleting.id);
    if (open === deleting.id) navigate("/");
    setDeleting(null);
  }

  return (
    <nav aria-label="Conversations" className="flex h-full flex-col gap-2 bg-zinc-50 p-3 dark:bg-zinc-950">
      <div className="flex items-center gap-2">
        <Link
          to="/"
          onClick={onNavigate}
          className="flex flex-1 items-center gap-2 rounded-lg px-3 py-2 text-sm font-medium hover:bg-zinc-200 dark:hover:bg-zinc-800"
          title="New chat (Ctrl+Shift+O)"
        >
          <PlusIcon /> New chat
        </Link>
        {onCollapse && (
          <button type="button" onClick={onCollapse} className="rounded-lg p-2 hover:bg-zinc-200 dark:hover:bg-zinc-800" aria-label="Close sidebar">
            <SidebarIcon />
          </button>
        )}
      </div>
      <label className="flex items-center gap-2 rounded-lg border border-zinc-200 bg-white px-2 dark:border-zinc-800 dark:bg-zinc-900">
        <SearchIcon />
        <span className="sr-only">Search conversations</span>
        <input
          type="search"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          placeholder="Search"
          className="w-full bg-transparent py-1.5 text-sm outline-none"
        />
      </label>
      <div className="-mx-1 flex-1 overflow-y-auto px-1">
        {items.length === 0 && <p className="px-3 py-2 text-sm text-zinc-500">{query ? "Nothing found." : "No conversations yet."}</p>}
        {grouped(items, (c) => c.updatedAt).map(({ group, items: list }) => (
          <section key={group} className="mb-3">
            <h2 className="px-3 py-1 text-xs font-medium text-zinc-500">{group}</h2>
            <ul>
              {list.map((c) => (
                <li key={c.id} className="group relative">
                  {renaming === c.id ? (
                    <form onSubmit={(e) => submitRename(e, c.id)}>
                      <input
                        autoFocus
                        aria-label="New title"
                        value={title}
                        onChange={(e) => setTitle(e.target.value)}
                        onBlur={(e) => void submitRename(e, c.id)}
                        onKeyDown={(e) => e.key === "Escape" && setRenaming(null)}
                        className="w-full rounded-lg border border-sky-500 bg-white px-3 py-1.5 text-sm dark:bg-zinc-900"
                      />
                    </form>
                  ) : (
                    <NavLink
                      to={`/c/${c.id}`}
                      onClick={onNavigate}
                      className={({ isActive }) =>
                        `block truncate rounded-lg py-1.5 pl-3 pr-8 text-sm hover:bg-zinc-200 dark:hover:bg-zinc-800 ${isActive ? "bg-zinc-200 dark:bg-zinc-800" : ""}`
                      }
                    >
                      {c.title}
                    </NavLink>
                  )}
                  {renaming !== c.id && (
                    <Menu>
                      <MenuButton
                        className="absolute right-1 top-1/2 -translate-y-1/2 rounded p-1 opacity-60 hover:opacity-100 focus:opacity-100 group-hover:opacity-100"
                        aria-label={`Options for ${c.title}`}
                      >
                        <DotsIcon />
                      </MenuButton>
                      <MenuItems anchor="bottom end" className="z-30 w-36 rounded-lg border border-zinc-200 bg-white p-1 text-sm shadow-lg dark:border-zinc-700 dark:bg-zinc-800">
                        <MenuItem>
                          <button
                            type="button"
                            className="block w-full rounded px-3 py-1.5 text-left data-focus:bg-zinc-100 dark:data-focus:bg-zinc-700"
                            onClick={() => {
                              setTitle(c.title);
                              setRenaming(c.id);
                            }}
                          >
                            Rename
                          </button>
                        </MenuItem>
                        <MenuItem>
                          <button
                            type="button"
                            className="block w-full rounded px-3 py-1.5 text-left text-red-600 data-focus:bg-zinc-100 dark:data-focus:bg-zinc-700"
                            onClick={() => setDeleting({ id: c.id, title: c.title })}
                          >
                            Delete
                          </button>
                        </MenuItem>
                      </MenuItems>
                    </Menu>
                  )}
                </li>
              ))}
            </ul>
          </section>
        ))}
        {hasMore && (
          <button type="button" onClick={() => void loadMore()} className="w-full rounded-lg px-3 py-1.5 text-sm text-zinc-600 hover:bg-zinc-200 dark:hover:bg-zinc-800">
            Show more
          </button>
        )}
      </div>
      <Menu>
        <MenuButton aria-label={`Account: ${user?.username}`} className="flex items-center gap-2 rounded-lg px-3 py-2 text-left text-sm hover:bg-zinc-200 dark:hover:bg-zinc-800">
          <span className="flex h-7 w-7 items-center justify-center rounded-full bg-sky-600 text-xs font-semibold uppercase text-white" aria-hidden="true">
            {user?.username.slice(0, 1)}
          </span>
          <span className="truncate">{user?.username}</span>
        </MenuButton>
        <MenuItems anchor="top start" className="z-30 w-48 rounded-lg border border-zinc-200 bg-white p-1 text-sm shadow-lg dark:border-zinc-700 dark:bg-zinc-800">
          {[
            ["Settings", "/settings"],
            ["API keys", "/keys"],
            ...(user?.isAdmin ? [["Admin", "/admin"]] : []),
          ].map(([label, to]) => (
            <MenuItem key={to}>
              <Link to={to} onClick={onNavigate} className="block rounded px-3 py-1.5 data-focus:bg-zinc-100 dark:data-focus:bg-zinc-700">
                {label}
              </Link>
            </MenuItem>
          ))}
          <MenuItem>
            <button type="button" onClick={() => void signOut()} className="block w-full rounded px-3 py-1.5 text-left data-focus:bg-zinc-100 dark:data-focus:bg-zinc-700">
              Sign out
            </button>
          </MenuItem>
        </MenuItems>
      </Menu>
      <ConfirmDialog
        open={deleting !== null}
        title="Delete conversation?"
        body={`“${deleting?.title}” and all its messages will be deleted. This cannot be undone.`}
        confirm="Delete"
        onConfirm={() => void confirmDelete()}
        onClose={() => setDeleting(null)}
      />
    </nav>
  );
}
