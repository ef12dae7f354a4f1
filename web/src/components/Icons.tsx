// Small inline icons (stroke follows the text colour).
import type { SVGProps } from "react";

function Icon({ d, ...props }: SVGProps<SVGSVGElement> & { d: string }) {
  return (
    <svg viewBox="0 0 24 24" width="18" height="18" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true" {...props}>
      <path d={d} />
    </svg>
  );
}

export const PlusIcon = () => <Icon d="M12 5v14M5 12h14" />;
export const MenuIcon = () => <Icon d="M4 6h16M4 12h16M4 18h16" />;
export const SidebarIcon = () => <Icon d="M4 4h16v16H4zM9 4v16" />;
export const CopyIcon = () => <Icon d="M9 9h11v11H9zM5 15H4V4h11v1" />;
export const CheckIcon = () => <Icon d="M5 12l5 5L20 7" />;
export const EditIcon = () => <Icon d="M4 20h4L19 9l-4-4L4 16zM14 6l4 4" />;
export const RetryIcon = () => <Icon d="M4 12a8 8 0 0 1 14-5.3L20 9M20 4v5h-5M20 12a8 8 0 0 1-14 5.3L4 15M4 20v-5h5" />;
export const StopIcon = () => <Icon d="M7 7h10v10H7z" />;
export const SendIcon = () => <Icon d="M12 19V5M5 12l7-7 7 7" />;
export const DotsIcon = () => <Icon d="M5 12h.01M12 12h.01M19 12h.01" strokeWidth="3" />;
export const ChevronLeft = () => <Icon d="M15 18l-6-6 6-6" />;
export const ChevronRight = () => <Icon d="M9 18l6-6-6-6" />;
export const ArrowDown = () => <Icon d="M12 5v14M5 12l7 7 7-7" />;
export const SearchIcon = () => <Icon d="M11 18a7 7 0 1 0 0-14 7 7 0 0 0 0 14zM21 21l-5-5" />;
