namespace Osiris.Api.Channels;

/// <summary>
/// <c>Osiris:Channels</c>, filled by the AppHost from its parameters (whatsapp-*, email-*, smtp-*).
/// An empty value means "not configured": its webhook answers 503 and replies report it, never silently.
/// </summary>
public sealed class ChannelOptions
{
    public const string Section = "Osiris:Channels";

    public WhatsAppOptions WhatsApp { get; set; } = new();
    public EmailOptions Email { get; set; } = new();
    public SmtpOptions Smtp { get; set; } = new();
}

public sealed class WhatsAppOptions
{
    public string AppSecret { get; set; } = "";
    public string VerifyToken { get; set; } = "";
    public string AccessToken { get; set; } = "";
    public string GraphUrl { get; set; } = "https://graph.facebook.com/v21.0";
    public string PhoneNumberId { get; set; } = "";

    public bool CanSend => AccessToken.Length > 0 && PhoneNumberId.Length > 0 && GraphUrl.Length > 0;
}

public sealed class EmailOptions
{
    public string SigningKey { get; set; } = "";

    /// <summary>A token that can only upload raw MIME to <c>POST /webhooks/email</c> (parameter <c>email-ingest-token</c>).</summary>
    public string IngestToken { get; set; } = "";

    /// <summary>
    /// The authserv-id of the receiving mail server whose <c>Authentication-Results</c> count (parameter
    /// <c>email-authserv-id</c>); empty: no header counts, and every e-mail sender is unknown.
    /// </summary>
    public string AuthServId { get; set; } = "";
}

public sealed class SmtpOptions
{
    public string Host { get; set; } = "";
    public int Port { get; set; } = 587;
    public string Username { get; set; } = "";
    public string Password { get; set; } = "";
    public string From { get; set; } = "";

    public bool CanSend => Host.Length > 0 && From.Length > 0;
}
