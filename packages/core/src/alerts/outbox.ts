// The contract between the alert state store (packages/store, alert-state.ts)
// and delivery (packages/notify): types only, so that neither package depends
// on the other and an in-memory implementation can stand in for tests.
import type { AlertKey } from "./key";
import type { AlertPlan } from "./lifecycle";
import type { AlertState, Notification } from "./schema";

export interface StoredAlertState {
  state: AlertState;
  /** Increases by one with every write; 0 means never written. */
  version: number;
}

export interface ApplyPlanReport {
  /** Keys whose update this writer won: their notifications are in the outbox. */
  applied: AlertKey[];
  /** Keys another writer changed since they were loaded: nothing was written or queued for them. */
  conflicts: AlertKey[];
}

export interface PendingNotification {
  notification: Notification;
  /** Sinks that already have it (or refused it for good): skip them on the next attempt. */
  deliveredTo: readonly string[];
}

export interface DeliveryClaim {
  /** Proves ownership of the lease when releasing it. */
  token: string;
  /** Re-read after the lease was taken, so it is current. */
  pending: PendingNotification;
}

export interface AlertOutbox {
  /** Notifications not yet delivered to every sink, oldest first. */
  pendingNotifications(): Promise<PendingNotification[]>;
  /** Leases one notification for delivery; null when someone else holds it or it was delivered meanwhile. */
  claimDelivery(notificationId: string, leaseMs: number): Promise<DeliveryClaim | null>;
  /** Records sinks that are done with a notification (delivered, or refused it permanently). */
  recordDelivery(notificationId: string, sinkIds: readonly string[]): Promise<void>;
  markDelivered(notificationId: string): Promise<void>;
  releaseDelivery(notificationId: string, token: string): Promise<void>;
}

export interface AlertStateRepository extends AlertOutbox {
  loadStates(): Promise<StoredAlertState[]>;
  /** Writes the plan's updates, each conditional on the version loaded; only won updates queue their notifications. */
  applyPlan(loaded: readonly StoredAlertState[], plan: AlertPlan): Promise<ApplyPlanReport>;
}
