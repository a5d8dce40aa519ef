using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Forms;
using Microsoft.AspNetCore.Components.Rendering;

namespace Osiris.Web.Components.Forms;

/// <summary>
/// An <see cref="InputText"/> that updates its value on every keystroke (<c>oninput</c>), so a validation message
/// clears as soon as the field holds what it needs, and a counter can follow the text.
/// </summary>
public sealed class LiveInputText : InputText
{
    protected override void BuildRenderTree(RenderTreeBuilder builder) =>
        LiveInput.Render(builder, "input", this, AdditionalAttributes, NameAttributeValue, CssClass, CurrentValueAsString,
            value => CurrentValueAsString = value, element => Element = element);
}

/// <summary>An <see cref="InputTextArea"/> that updates its value on every keystroke, like <see cref="LiveInputText"/>.</summary>
public sealed class LiveInputTextArea : InputTextArea
{
    protected override void BuildRenderTree(RenderTreeBuilder builder) =>
        LiveInput.Render(builder, "textarea", this, AdditionalAttributes, NameAttributeValue, CssClass, CurrentValueAsString,
            value => CurrentValueAsString = value, element => Element = element);
}

/// <summary>The one element both live inputs render: the value bound to <c>oninput</c> instead of <c>onchange</c>.</summary>
internal static class LiveInput
{
    public static void Render(RenderTreeBuilder builder, string element, object receiver, IReadOnlyDictionary<string, object>? attributes,
        string? name, string? cssClass, string? value, Action<string?> setValue, Action<ElementReference> capture)
    {
        builder.OpenElement(0, element);
        builder.AddMultipleAttributes(1, attributes);
        if (!string.IsNullOrEmpty(name))
        {
            builder.AddAttribute(2, "name", name);
        }
        if (!string.IsNullOrEmpty(cssClass))
        {
            builder.AddAttribute(3, "class", cssClass);
        }
        builder.AddAttribute(4, "value", value);
        builder.AddAttribute(5, "oninput", EventCallback.Factory.CreateBinder<string?>(receiver, setValue, value));
        builder.AddElementReferenceCapture(6, capture);
        builder.CloseElement();
    }
}
