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
    protected override void BuildRenderTree(RenderTreeBuilder builder)
    {
        builder.OpenElement(0, "input");
        builder.AddMultipleAttributes(1, AdditionalAttributes);
        if (!string.IsNullOrEmpty(NameAttributeValue))
        {
            builder.AddAttribute(2, "name", NameAttributeValue);
        }
        if (!string.IsNullOrEmpty(CssClass))
        {
            builder.AddAttribute(3, "class", CssClass);
        }
        builder.AddAttribute(4, "value", CurrentValueAsString);
        builder.AddAttribute(5, "oninput", EventCallback.Factory.CreateBinder<string?>(this, value => CurrentValueAsString = value, CurrentValueAsString));
        builder.AddElementReferenceCapture(6, element => Element = element);
        builder.CloseElement();
    }
}

/// <summary>An <see cref="InputTextArea"/> that updates its value on every keystroke, like <see cref="LiveInputText"/>.</summary>
public sealed class LiveInputTextArea : InputTextArea
{
    protected override void BuildRenderTree(RenderTreeBuilder builder)
    {
        builder.OpenElement(0, "textarea");
        builder.AddMultipleAttributes(1, AdditionalAttributes);
        if (!string.IsNullOrEmpty(NameAttributeValue))
        {
            builder.AddAttribute(2, "name", NameAttributeValue);
        }
        if (!string.IsNullOrEmpty(CssClass))
        {
            builder.AddAttribute(3, "class", CssClass);
        }
        builder.AddAttribute(4, "value", CurrentValueAsString);
        builder.AddAttribute(5, "oninput", EventCallback.Factory.CreateBinder<string?>(this, value => CurrentValueAsString = value, CurrentValueAsString));
        builder.AddElementReferenceCapture(6, element => Element = element);
        builder.CloseElement();
    }
}
