import type { Role } from '../../contracts/users.ts'
import type { Mail } from './mailer.ts'
import { escapeHtml as escape } from '../http/html-page.ts'


export const invitationLink = (publicUrl: string, key: string) => `${publicUrl}/invitation/${key}`

export function composeInvitationMail(
  invitation: { email: string; role: Role; invited_by_name: string; expires: Date },
  key: string,
  messageId: string,
  publicUrl: string,
): Mail {
  const link = invitationLink(publicUrl, key)
  const until = new Date(invitation.expires).toUTCString()
  const article = invitation.role === 'admin' || invitation.role === 'operator' ? 'an' : 'a'
  return {
    to: invitation.email,
    subject: `${invitation.invited_by_name} invites you to the incident tracker`,
    text: [
      `${invitation.invited_by_name} invites you to the incident tracker as ${article} ${invitation.role}.`,
      '',
      `Choose your username and password here: ${link}`,
      '',
      `The link works once, until ${until}.`,
    ].join('\n'),
    html: [
      `<p>${escape(invitation.invited_by_name)} invites you to the incident tracker as ${article} <strong>${escape(invitation.role)}</strong>.</p>`,
      `<p><a href="${escape(link)}">Choose your username and password</a></p>`,
      `<p style="color:#666">The link works once, until ${escape(until)}.</p>`,
    ].join('\n'),
    messageId,
  }
}
