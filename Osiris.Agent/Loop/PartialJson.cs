using System.Globalization;
using System.Text;

namespace Osiris.Agent.Loop;

/// <summary>
/// Reads one string property out of a JSON object that is still arriving (a tool call's arguments, streamed in
/// fragments): the value decoded as far as it goes, stopping before an escape sequence that is not complete yet.
/// </summary>
public static class PartialJson
{
    /// <returns>The decoded value so far, or null while the property has not started; <paramref name="complete"/> once its closing quote came.</returns>
    public static string? ReadString(string json, string property, out bool complete)
    {
        complete = false;
        var key = $"\"{property}\"";
        var at = 0;
        while ((at = json.IndexOf(key, at, StringComparison.Ordinal)) >= 0)
        {
            var i = at + key.Length;
            while (i < json.Length && char.IsWhiteSpace(json[i]))
            {
                i++;
            }
            if (i < json.Length && json[i] == ':')
            {
                i++;
                while (i < json.Length && char.IsWhiteSpace(json[i]))
                {
                    i++;
                }
                if (i >= json.Length)
                {
                    return null;
                }
                return json[i] == '"' ? Decode(json, i + 1, out complete) : null;
            }
            at = i;
        }
        return null;
    }

    private static string Decode(string json, int start, out bool complete)
    {
        var value = new StringBuilder();
        complete = false;
        for (var i = start; i < json.Length; i++)
        {
            var c = json[i];
            if (c == '"')
            {
                complete = true;
                break;
            }
            if (c != '\\')
            {
                value.Append(c);
                continue;
            }
            if (i + 1 >= json.Length)
            {
                break;
            }
            var escaped = json[++i];
            switch (escaped)
            {
                case 'n': value.Append('\n'); break;
                case 't': value.Append('\t'); break;
                case 'r': value.Append('\r'); break;
                case 'b': value.Append('\b'); break;
                case 'f': value.Append('\f'); break;
                case 'u':
                    if (i + 4 >= json.Length)
                    {
                        return value.ToString();
                    }
                    value.Append((char)int.Parse(json.AsSpan(i + 1, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    i += 4;
                    break;
                default: value.Append(escaped); break; // \" \\ \/
            }
        }
        return value.ToString();
    }
}
