using System.ComponentModel.DataAnnotations;

namespace Osiris.Web.Api;

/// <summary>The <c>Osiris</c> configuration section as the web app reads it.</summary>
public sealed class OsirisWebOptions
{
    public const string Section = "Osiris";

    /// <summary>The API's bearer key (<c>Osiris__ApiKey</c>, from the AppHost's <c>api-key</c> parameter).</summary>
    [Required]
    public string ApiKey { get; set; } = "";

    /// <summary>Where the API is; a service discovery name by default.</summary>
    [Required]
    public string ApiBaseAddress { get; set; } = "https+http://api";

    /// <summary>The sign-in secret (<c>Osiris__WebPassword</c>, from the <c>web-password</c> parameter).</summary>
    public string? WebPassword { get; set; }

    /// <summary>Forces sign-in on or off; unset, sign-in is required exactly when the app listens beyond loopback.</summary>
    public bool? RequireSignIn { get; set; }
}
