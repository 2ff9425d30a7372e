// NRR Engine dashboard: the routes of the single-page app. Each page is its own module.
import { accountPage } from './pages/account-page.js';
import { accountsPage } from './pages/accounts-page.js';
import { bookPage } from './pages/book-page.js';
import { cohortAccountsPage } from './pages/cohort-accounts-page.js';
import { cohortsPage } from './pages/cohorts-page.js';
import { movementsPage } from './pages/movements-page.js';
import { notFoundPage } from './pages/not-found-page.js';
import { overviewPage } from './pages/overview-page.js';
import { playbooksPage } from './pages/playbooks-page.js';
import { renewalsPage } from './pages/renewals-page.js';
import { segmentsPage } from './pages/segments-page.js';
import { tasksPage } from './pages/tasks-page.js';
import { start } from './router.js';

start(
  [
    { path: '/overview', label: 'Overview', render: overviewPage },
    { path: '/segments', label: 'Segments', render: segmentsPage },
    { path: '/cohorts', label: 'Cohorts', render: cohortsPage },
    { path: '/cohorts/:cohort', render: ({ cohort }) => cohortAccountsPage(cohort!) },
    { path: '/accounts', label: 'Accounts', render: accountsPage },
    { path: '/accounts/:id', render: ({ id }) => accountPage(id!), early: true },
    { path: '/movements', render: movementsPage },
    { path: '/tasks', label: 'Tasks', render: tasksPage },
    { path: '/renewals', label: 'Renewals', render: renewalsPage },
    { path: '/book', label: 'Book', render: bookPage },
    { path: '/playbooks', label: 'Playbooks', render: playbooksPage },
  ],
  notFoundPage,
);
