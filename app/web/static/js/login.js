// Sign-in form: posts to the auth API, which sets the session and CSRF cookies.
"use strict";
document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const box = document.getElementById("login-error");
  box.hidden = true;
  const email = document.getElementById("email").value.trim();
  const password = document.getElementById("password").value;
  if (!email || !password) {
    box.textContent = "Enter your email and password.";
    box.hidden = false;
    return;
  }
  try {
    await Inbound.api("/api/v1/auth/login", { method: "POST", body: { email, password }, signIn: false });
    const next = new URLSearchParams(location.search).get("next");
    location.href = next && next.startsWith("/") && !next.startsWith("//") ? next : "/home";
  } catch (err) {
    box.textContent = err.status === 401 ? "Wrong email or password." : err.message;
    box.hidden = false;
  }
});
