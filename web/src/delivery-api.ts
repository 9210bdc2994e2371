import type { CreatedWebhook, DeliveryPage, DeliveryState, NewWebhook, Delivery, Subscription, SubscriptionView, Webhook } from '../../contracts/deliveries.ts'
import { call } from './api.ts'

/** How alerts reach people off the dashboard: each user's alert mail, the webhooks, and (admins) what was delivered. */
export const deliveryApi = {
  subscription: () => call<SubscriptionView>('GET', '/api/me/subscription'),
  saveSubscription: (subscription: Subscription) => call<SubscriptionView>('PUT', '/api/me/subscription', subscription),

  webhooks: () => call<Webhook[]>('GET', '/api/webhooks'),
  /** the answer holds the signing secret: the only time it is shown */
  createWebhook: (webhook: NewWebhook) => call<CreatedWebhook>('POST', '/api/webhooks', webhook),
  deleteWebhook: (id: number) => call<void>('DELETE', `/api/webhooks/${id}`),

  /** One page, newest first: only those in `state` (all when absent), older than `cursor`. */
  deliveries: (query: { state?: DeliveryState; limit: number; cursor?: number | null }) => {
    const params = new URLSearchParams({ limit: String(query.limit) })
    if (query.state) params.set('state', query.state)
    if (query.cursor != null) params.set('cursor', String(query.cursor))
    return call<DeliveryPage>('GET', `/api/deliveries?${params}`)
  },
  retryDelivery: (id: number) => call<Delivery>('POST', `/api/deliveries/${id}/retry`),
}
