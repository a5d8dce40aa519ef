namespace Osiris.AppHost;

/// <summary>
/// The channel parameters (listed in docs/infrastructure.md). They are optional: an unset one is passed as empty, and the API then
/// reports that channel as not configured instead of the whole app waiting for a value at start.
/// Values come from configuration <c>Parameters:&lt;name&gt;</c> (user secrets, environment <c>Parameters__&lt;name&gt;</c>).
/// </summary>
public static class ChannelParameters
{
    private static readonly (string Parameter, string Setting, bool Secret, string Default)[] All =
    [
        ("whatsapp-app-secret", "WhatsApp__AppSecret", true, ""),
        ("whatsapp-verify-token", "WhatsApp__VerifyToken", true, ""),
        ("whatsapp-access-token", "WhatsApp__AccessToken", true, ""),
        ("whatsapp-graph-url", "WhatsApp__GraphUrl", false, "https://graph.facebook.com/v21.0"),
        ("whatsapp-phone-number-id", "WhatsApp__PhoneNumberId", false, ""),
        ("email-signing-key", "Email__SigningKey", true, ""),
        ("smtp-host", "Smtp__Host", false, ""),
        ("smtp-port", "Smtp__Port", false, "587"),
        ("email-ingest-token", "Email__IngestToken", true, ""),
        ("email-authserv-id", "Email__AuthServId", false, ""),
        ("smtp-username", "Smtp__Username", false, ""),
        ("smtp-password", "Smtp__Password", true, ""),
        ("smtp-from", "Smtp__From", false, ""),
    ];

    public static IResourceBuilder<ProjectResource> WithChannelParameters(this IResourceBuilder<ProjectResource> api)
    {
        var builder = api.ApplicationBuilder;
        foreach (var (name, setting, secret, fallback) in All)
        {
            var value = builder.Configuration[$"Parameters:{name}"];
            var parameter = builder.AddParameter(name, string.IsNullOrEmpty(value) ? fallback : value, secret: secret);
            api.WithEnvironment($"Osiris__Channels__{setting}", parameter);
        }
        return api;
    }
}
