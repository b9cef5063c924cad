"""The supervisors' review desk: a small web dashboard for complaints."""
