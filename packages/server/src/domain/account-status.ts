/** An account an administrator disabled, or whose deletion is under way: its credentials and links stop. */
export const isDisabled = (user: { disabled_at?: string | null; deleted_at?: string | null }): boolean =>
  Boolean(user.disabled_at) || Boolean(user.deleted_at);
