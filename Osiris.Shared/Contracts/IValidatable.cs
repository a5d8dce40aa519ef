namespace Osiris.Shared.Contracts;

/// <summary>
/// A request that checks its own shape (required fields, lengths, known names). The API runs the check once per route
/// group, before any handler; the web client may run the same check before sending. Rules that depend on state (is
/// this brain configured, is the task open) stay with the handler.
/// </summary>
public interface IValidatable
{
    /// <summary>Empty when valid; otherwise each field (as named on the wire) with its messages.</summary>
    Dictionary<string, string[]> Validate();
}
