def test_login_page_renders(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert b"Log in" in response.data


def test_login_and_see_project(client, auth, project):
    response = auth.login("alice")
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "Palmyra reports" in page
