// The routes: sign-in screens outside, everything else inside the signed-in shell.
import { Route, Routes, useParams } from "react-router";
import { AuthProvider } from "./auth/AuthContext";
import { ChatView, NewChatView } from "./chat/ChatView";
import { Shell } from "./components/Shell";
import { AdminPage } from "./pages/AdminPage";
import { KeysPage } from "./pages/KeysPage";
import { SettingsPage } from "./pages/SettingsPage";
import { SignInPage } from "./pages/SignInPage";

export function App() {
  return (
    <AuthProvider>
      <Routes>
        <Route path="/signin" element={<SignInPage register={false} />} />
        <Route path="/signup" element={<SignInPage register />} />
        <Route element={<Shell />}>
          <Route index element={<NewChatView />} />
          <Route path="/c/:id" element={<ChatRoute />} />
          <Route path="/settings" element={<SettingsPage />} />
          <Route path="/keys" element={<KeysPage />} />
          <Route path="/admin" element={<AdminPage />} />
          <Route path="*" element={<NewChatView />} />
        </Route>
      </Routes>
    </AuthProvider>
  );
}

/** A fresh chat view per conversation, so nothing of one shows in another. */
function ChatRoute() {
  const { id } = useParams();
  return <ChatView key={id} />;
}
