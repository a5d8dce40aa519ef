using System.Collections.Immutable;
using Osiris.Shared.Contracts;

namespace Osiris.Web.Live;

/// <summary>The web instance's link to the API's event stream, as the connection indicator shows it.</summary>
public enum ConnectionState
{
    Connecting,
    Live,
    Reconnecting,
    Offline,
}

/// <summary>A <c>system_notification</c>, shown as a toast.</summary>
public sealed record Notification(long EventId, string Level, string Text, Guid? TaskId, DateTimeOffset At);
