import { lazy, Suspense, type ReactNode } from "react";
import { createBrowserRouter, Link, RouterProvider } from "react-router-dom";
import { AuthProvider } from "./auth/AuthProvider";
import { Layout } from "./components/Layout";
import { AnonOnly, Loading, RequireAuth } from "./components/RequireAuth";
import { I18nProvider, useI18n } from "./i18n/I18nProvider";
import { LoginPage, ResetPasswordPage, SignupPage, VerifyEmailPage } from "./pages/AuthPages";
import { UploadPage } from "./pages/UploadPage";

// Pages after the upload are loaded when first opened.
const JobPage = lazy(() => import("./pages/JobPage").then((m) => ({ default: m.JobPage })));
const EditPage = lazy(() => import("./pages/EditPage").then((m) => ({ default: m.EditPage })));
const PlansPage = lazy(() => import("./pages/PlansPage").then((m) => ({ default: m.PlansPage })));
const HistoryPage = lazy(() => import("./pages/HistoryPage").then((m) => ({ default: m.HistoryPage })));
const TeamPage = lazy(() => import("./pages/TeamPage").then((m) => ({ default: m.TeamPage })));
const InvitationPage = lazy(() => import("./pages/InvitationPage").then((m) => ({ default: m.InvitationPage })));

function NotFound() {
  const { t } = useI18n();
  return (
    <section>
      <h1>{t("notFound.title")}</h1>
      <Link to="/">{t("notFound.home")}</Link>
    </section>
  );
}

const authed = (node: ReactNode) => (
  <RequireAuth>
    <Suspense fallback={<Loading />}>{node}</Suspense>
  </RequireAuth>
);

const router = createBrowserRouter([
  {
    element: <Layout />,
    children: [
      { path: "/", element: authed(<UploadPage />) },
      { path: "/jobs/:id", element: authed(<JobPage />) },
      { path: "/jobs/:jobId/images/:index/edit", element: authed(<EditPage />) },
      { path: "/history", element: authed(<HistoryPage />) },
      { path: "/plans", element: authed(<PlansPage />) },
      { path: "/team", element: authed(<TeamPage />) },
      // the link of the invitation email; signed-out visitors sign in first, then come back
      { path: "/invitations/:token", element: authed(<InvitationPage />) },
      { path: "/login", element: <AnonOnly><LoginPage /></AnonOnly> },
      { path: "/signup", element: <AnonOnly><SignupPage /></AnonOnly> },
      { path: "/verify-email", element: <VerifyEmailPage /> },
      { path: "/reset-password", element: <ResetPasswordPage /> },
      { path: "*", element: <NotFound /> },
    ],
  },
]);

export function App() {
  return (
    <I18nProvider>
      <AuthProvider>
        <RouterProvider router={router} />
      </AuthProvider>
    </I18nProvider>
  );
}
